"""What every broker's orders share: the contract's order shape, order entry's values
and capability, which refusal a broker's answer is, and whether a read is stale."""
