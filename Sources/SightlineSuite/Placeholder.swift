// placeholder until real sources land
