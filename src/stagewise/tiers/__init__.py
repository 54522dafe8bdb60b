"""Tier runners: one module per tier kind, each returning a ``TierResult``."""

from stagewise.tiers.result import FailedTest, TestCounts, TierResult, TierStatus

__all__ = ["FailedTest", "TestCounts", "TierResult", "TierStatus"]
