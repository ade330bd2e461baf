// Batch testbench of tiny (nn2hls rtlsim): reads rtl_in.hex (the sample count, then per
// sample one hex word per input port: the port's whole bus), feeds one sample per clock cycle and
// writes one hex word per output port (its whole bus) for every valid output to rtl_out.hex.
`timescale 1ns/1ps
module tiny_tb;
  reg clk = 1'b0;
  reg in_valid = 1'b0;
  reg [39:0] x_in = 40'b0;
  reg [39:0] x_in_word;
  wire [23:0] y_out;
  wire out_valid;
  tiny dut (.clk(clk), .in_valid(in_valid), .x_in(x_in), .y_out(y_out), .out_valid(out_valid));
  integer fi, fo, n, c, r, written;
  initial begin
    fi = $fopen("rtl_in.hex", "r");
    fo = $fopen("rtl_out.hex", "w");
    n = 0;
    r = $fscanf(fi, "%d", n);
    written = 0;
    for (c = 0; written < n && c < n + 4; c = c + 1) begin
      if (c < n) begin
        r = $fscanf(fi, "%h", x_in_word);
        x_in = x_in_word;  // a plain assignment: Verilator 5.006 does not wake logic on $fscanf
        in_valid = 1'b1;
      end else begin
        in_valid = 1'b0;
      end
      #1;
      if (out_valid) begin
        $fwrite(fo, "%h\n", y_out);
        written = written + 1;
      end
      clk = 1'b1;
      #1;
      clk = 1'b0;
    end
    $fclose(fi);
    $fclose(fo);
    $finish;
  end
endmodule
