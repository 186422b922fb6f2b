"""Tests of the benchmark tools: the synthetic data generator and the plain-script baseline."""
