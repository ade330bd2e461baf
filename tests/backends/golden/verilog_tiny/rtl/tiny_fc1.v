// 'fc1': Dense -> ap_fixed<12,6,AP_RND,AP_SAT> (shape 3)
// 3 general products, 3 multipliers, 7 adders
module tiny_fc1 (
  input clk,
  input [39:0] x0,
  output [35:0] y
);
  wire signed [9:0] x0_0_1 = x0[9:0];
  wire signed [9:0] x0_1_2 = x0[19:10];
  wire signed [9:0] x0_2_3 = x0[29:20];
  wire signed [9:0] x0_3_4 = x0[39:30];
  wire signed [5:0] c5 = 6'sh10;
  wire signed [11:0] s6 = x0_1_2 <<< 2;
  wire signed [12:0] t7 = x0_2_3 - s6;
  wire signed [8:0] s8 = c5 <<< 3;
  wire signed [12:0] t9 = t7 + s8;
  wire signed [19:0] s10 = t9 <<< 7;
  wire signed [19:0] h11 = s10 + 10'sh100;
  wire signed [10:0] f12 = h11[19:9];
  wire signed [12:0] p13 = x0_2_3 * 4'sh5;
  wire signed [3:0] c14 = 4'sh8;
  wire signed [12:0] s15 = x0_0_1 <<< 3;
  wire signed [13:0] t16 = s15 - p13;
  wire signed [10:0] t17 = c14 - x0_3_4;
  wire signed [14:0] s18 = t17 <<< 4;
  wire signed [14:0] t19 = t16 + s18;
  wire signed [20:0] s20 = t19 <<< 6;
  wire signed [20:0] h21 = s20 + 10'sh100;
  wire signed [11:0] f22 = h21[20:9];
  wire signed [11:0] p23 = x0_0_1 * 3'sh3;
  wire signed [13:0] p24 = x0_3_4 * 5'sh9;
  wire signed [11:0] s25 = x0_1_2 <<< 2;
  wire signed [12:0] t26 = p23 + s25;
  wire signed [13:0] t27 = t26 + p24;
  wire signed [19:0] s28 = t27 <<< 6;
  wire signed [19:0] h29 = s28 + 10'sh100;
  wire signed [10:0] f30 = h29[19:9];
  wire signed [11:0] e31 = f30;
  wire signed [11:0] e32 = f12;
  wire [35:0] y_comb = {
    e31,
    f22,
    e32
  };
  reg [35:0] y_reg;
  always @(posedge clk) y_reg <= y_comb;
  assign y = y_reg;
endmodule
