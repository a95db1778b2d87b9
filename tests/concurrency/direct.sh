#!/usr/bin/env bash
# tests/concurrency/direct.sh: tests/concurrency/run.sh with setting attesters = 0: every result is
# accepted at once and settled by tgx.settle_tasks, called by all 8 connections at once; the same
# invariants (every task once, accounting once), and no settlement left behind.
exec env CONC_MODE=direct "$(dirname "$0")/run.sh"
