"""Measurements that compare this project with a baseline measured in the same run."""
