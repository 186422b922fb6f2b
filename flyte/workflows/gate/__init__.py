"""The gate sub-workflow: judge the challenger, then promote it or keep the champion."""
