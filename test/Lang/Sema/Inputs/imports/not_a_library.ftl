seed 3
