#!/usr/bin/env python3
"""Reference values for WorkloadModelTests (writes fixtures.json beside this script).

Erlang C in exact rational arithmetic (fractions), straight from the textbook form
P(wait) = (A^N/N! * N/(N-A)) / (sum_{k<N} A^k/k! + A^N/N! * N/(N-A)), the service level
1 - P(wait) * exp(-(N-A) T/h) and the fewest agents meeting a service level under an
occupancy cap, by walking N up from floor(A)+1. The staffing cases are the contact-centre
examples: 100 calls in 30 minutes at 3 minutes each (A = 10), 360 calls an hour at
4 minutes (A = 24), and a large centre (A = 400).

Run: python3 make_fixtures.py   (standard library only)
"""
import json
import math
import os
from fractions import Fraction as F


def wait_probability(agents, load):
    a = F(load)
    n = agents
    if a == 0:
        return F(0)
    if n <= a:
        return F(1)
    term = F(1)
    total = F(0)
    for k in range(n):
        if k > 0:
            term = term * a / k
        total += term
    top = term * a / n * F(n) / (n - a)
    return top / (total + top)


def service_level(agents, load, handle, within):
    if agents <= load:
        return 1.0 if load == 0 else 0.0
    return 1 - float(wait_probability(agents, load)) * math.exp(-(agents - float(load)) * within / handle)


def agents_needed(arrivals, handle, level, within, occupancy):
    load = F(arrivals) * F(handle) / 3600
    if load == 0:
        return 0, 0.0
    n = max(1, math.floor(load) + 1)
    while True:
        if load / n <= F(occupancy).limit_denominator(1000) and service_level(n, load, handle, within) >= level:
            return n, service_level(n, load, handle, within)
        n += 1


def main():
    cases = []
    for load, agents in [(F(1), 2), (F(2), 3), (F(10), 11), (F(10), 13), (F(10), 14), (F(24), 28), (F(24), 30),
                         (F(1, 2), 1), (F(9, 2), 7), (F(400), 415), (F(400), 430)]:
        cases.append({"load": float(load), "agents": agents, "wait": float(wait_probability(agents, load)),
                      "service_level_20s_180s": service_level(agents, load, 180, 20)})
    staffing = []
    for arrivals, handle, level, within, occupancy in [(200, 180, 0.8, 20, 0.85), (360, 240, 0.8, 20, 0.85),
                                                       (360, 240, 0.9, 15, 0.85), (12, 300, 0.8, 20, 0.85),
                                                       (4800, 300, 0.8, 20, 0.95), (30, 600, 0.8, 60, 0.5)]:
        agents, level_reached = agents_needed(arrivals, handle, level, within, occupancy)
        staffing.append({"arrivals": arrivals, "handle_seconds": handle, "service_level": level,
                         "within_seconds": within, "max_occupancy": occupancy, "agents": agents,
                         "service_level_reached": level_reached})
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures.json")
    with open(path, "w") as handle:
        json.dump({"erlang_c": cases, "staffing": staffing}, handle, indent=1)
        handle.write("\n")


if __name__ == "__main__":
    main()
