"""Chaos: numbered messages through random kills and hangs of every part of the scale-out
topology, and a checker that nothing was lost, nothing went backwards and no two watchers
consumed at once. ``python -m chaos --help``; README "Chaos and soak".
"""
