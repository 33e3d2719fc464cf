//! The last lines of a stream, and nothing more.

use std::collections::VecDeque;

/// Keeps the last `capacity` lines pushed into it: older lines are dropped
/// as new ones arrive, so a chatty program costs a bounded amount of memory.
#[derive(Debug)]
pub(crate) struct Tail {
    lines: VecDeque<String>,
    capacity: usize,
}

impl Tail {
    /// An empty tail that keeps at most `capacity` lines.
    pub(crate) fn new(capacity: usize) -> Self {
        Tail {
            lines: VecDeque::with_capacity(capacity),
            capacity,
        }
    }

    /// Adds a line, dropping the oldest one when full.
    pub(crate) fn push(&mut self, line: String) {
        if self.capacity == 0 {
            return;
        }
        if self.lines.len() == self.capacity {
            self.lines.pop_front();
        }
        self.lines.push_back(line);
    }

    /// The lines kept, oldest first.
    pub(crate) fn lines(&self) -> Vec<String> {
        self.lines.iter().cloned().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_only_the_last_lines_in_order() {
        let mut tail = Tail::new(3);
        for i in 1..=10 {
            tail.push(format!("line {i}"));
        }
        assert_eq!(tail.lines(), ["line 8", "line 9", "line 10"]);
    }

    #[test]
    fn keeps_everything_below_capacity_and_nothing_at_zero() {
        let mut tail = Tail::new(3);
        tail.push("only".into());
        assert_eq!(tail.lines(), ["only"]);

        let mut none = Tail::new(0);
        none.push("dropped".into());
        assert!(none.lines().is_empty());
    }
}
