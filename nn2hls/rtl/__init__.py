"""RTL tools for Verilog projects: simulation (`sim`: Verilator or iverilog) and synthesis (`synth`: yosys)."""
