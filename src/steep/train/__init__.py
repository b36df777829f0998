"""steep.train"""
