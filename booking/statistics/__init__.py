"""Statistics for office managers: figures, chart data and the live floor, computed in
the database from data that carries no personal details (appointments keep service,
times, channel, status and who cancelled after the purge anonymises them; tickets keep
their times). No Flask request globals: the office, the period and ``now`` are arguments.
"""
