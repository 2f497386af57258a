"""Trace replay: Azure trace reading, down-sampling, scheduling, open-loop replay and memory sampling."""
