"""nn2hls: compile trained neural networks into bit-exact, sparse HLS projects."""
__version__ = "0.1.0"
