"""Reliability and security suite (issue 7): real faults injected into real databases."""
