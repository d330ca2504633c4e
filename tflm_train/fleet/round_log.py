"""What the server records of each round."""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class RoundLog:
    round: int
    clients: list[int]                                     # partitions that trained
    bytes_up: dict[int, int] = field(default_factory=dict)   # partition -> update bytes
    bytes_down: int = 0                                    # the global message, per client
    rejected: list[str] = field(default_factory=list)      # reasons, each naming the client
