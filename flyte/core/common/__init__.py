"""What every capability uses: the error types, strict dataclass validation and progress reporting."""
