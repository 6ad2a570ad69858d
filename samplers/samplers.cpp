// samplers layer
