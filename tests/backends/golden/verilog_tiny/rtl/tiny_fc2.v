// 'fc2': Dense -> ap_fixed<12,6,AP_RND,AP_SAT> (shape 2)
// 1 general products, 1 multipliers, 2 adders
module tiny_fc2 (
  input clk,
  input [29:0] x0,
  output [23:0] y
);
  wire [9:0] b1 = x0[9:0];
  wire signed [10:0] x0_0_2 = b1;
  wire [9:0] b3 = x0[19:10];
  wire signed [10:0] x0_1_4 = b3;
  wire [9:0] b5 = x0[29:20];
  wire signed [10:0] x0_2_6 = b5;
  wire signed [12:0] p7 = x0_0_2 * 3'sh3;
  wire signed [3:0] c8 = 4'sh4;
  wire signed [11:0] s9 = x0_1_4 <<< 1;
  wire signed [12:0] t10 = p7 - s9;
  wire signed [5:0] s11 = c8 <<< 2;
  wire signed [12:0] t12 = t10 + s11;
  wire signed [20:0] s13 = t12 <<< 8;
  wire signed [20:0] h14 = s13 + 10'sh100;
  wire signed [11:0] f15 = h14[20:9];
  wire signed [20:0] s16 = x0_1_4 <<< 10;
  wire signed [20:0] h17 = s16 + 10'sh100;
  wire signed [11:0] f18 = h17[20:9];
  wire [23:0] y_comb = {
    f18,
    f15
  };
  reg [23:0] y_reg;
  always @(posedge clk) y_reg <= y_comb;
  assign y = y_reg;
endmodule
