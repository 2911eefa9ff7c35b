from collections.abc import Callable, Sequence
from typing import Any

from pipeline.classify.engine import Engine, Outcome

SOURCE_HASH: str

class Kernel:
    def __init__(
        self,
        engine: Engine,
        fold: Callable[[str], str],
        codes: Sequence[int],
        separator: str,
        classes: tuple[type, ...],
        rank: Callable[[Any], Any],
    ) -> None: ...
    def fold(self, text: str) -> str: ...
    def evaluate(self, texts: Sequence[str], detail: bool = False) -> Outcome: ...
