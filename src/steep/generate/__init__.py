"""steep.generate"""
