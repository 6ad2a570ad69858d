// train layer
