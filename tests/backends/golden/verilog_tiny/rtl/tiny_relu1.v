// 'relu1': Activation(function=relu, alpha=0.0, beta=0.0, low=-inf, high=inf) -> ap_ufixed<10,5,AP_RND,AP_SAT> (shape 3)
// 0 general products, 0 multipliers, 0 adders
module tiny_relu1 (
  input clk,
  input [35:0] x0,
  output [29:0] y
);
  wire signed [11:0] x0_0_1 = x0[11:0];
  wire signed [11:0] x0_1_2 = x0[23:12];
  wire signed [11:0] x0_2_3 = x0[35:24];
  wire signed [11:0] u4 = x0_0_1[11] ? 12'sh0 : x0_0_1;
  wire signed [12:0] h5 = u4 + 2'sh1;
  wire signed [11:0] f6 = h5[12:1];
  wire signed [10:0] q7 = (f6 > 12'sh3ff) ? 11'sh3ff : f6;
  wire signed [11:0] u8 = x0_1_2[11] ? 12'sh0 : x0_1_2;
  wire signed [12:0] h9 = u8 + 2'sh1;
  wire signed [11:0] f10 = h9[12:1];
  wire signed [10:0] q11 = (f10 > 12'sh3ff) ? 11'sh3ff : f10;
  wire signed [11:0] u12 = x0_2_3[11] ? 12'sh0 : x0_2_3;
  wire signed [12:0] h13 = u12 + 2'sh1;
  wire signed [11:0] f14 = h13[12:1];
  wire signed [10:0] q15 = (f14 > 12'sh3ff) ? 11'sh3ff : f14;
  wire [29:0] y_comb = {
    q15[9:0],
    q11[9:0],
    q7[9:0]
  };
  reg [29:0] y_reg;
  always @(posedge clk) y_reg <= y_comb;
  assign y = y_reg;
endmodule
