//! The scaler's decision, as a pure function: may a new environment start, and how many
//! idle ones must be evicted first to stay within the memory budget.

/// Why an invocation was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ThrottleReason {
    /// The function's reserved concurrency is used up.
    ReservedFunctionConcurrentInvocationLimitExceeded,
    /// The account-wide concurrency is used up.
    ConcurrentInvocationLimitExceeded,
    /// The node's memory budget is used up by busy environments.
    MemoryBudgetExceeded,
}

impl ThrottleReason {
    /// The `Reason` field of Lambda's `TooManyRequestsException`.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::ReservedFunctionConcurrentInvocationLimitExceeded => {
                "ReservedFunctionConcurrentInvocationLimitExceeded"
            }
            Self::ConcurrentInvocationLimitExceeded => "ConcurrentInvocationLimitExceeded",
            Self::MemoryBudgetExceeded => "ConcurrentInvocationLimitExceeded",
        }
    }
}

/// What the scaler knows when no idle environment is available.
#[derive(Debug, Clone)]
pub struct StartInput {
    pub function_live: u32,
    pub reserved: Option<u32>,
    pub account_live: u32,
    pub account_limit: u32,
    pub used_mb: u64,
    pub need_mb: u64,
    pub budget_mb: u64,
    /// Sizes of idle environments of other functions, least recently used first.
    pub idle_mb_lru: Vec<u64>,
}

/// Permission to start, after evicting the first `evict` idle environments.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StartPlan {
    pub evict: usize,
}

pub fn plan_start(i: &StartInput) -> Result<StartPlan, ThrottleReason> {
    if let Some(r) = i.reserved {
        if i.function_live >= r {
            return Err(ThrottleReason::ReservedFunctionConcurrentInvocationLimitExceeded);
        }
    }
    let mut evict = 0;
    let mut account_live = i.account_live;
    let mut used = i.used_mb;
    while account_live >= i.account_limit || used + i.need_mb > i.budget_mb {
        let Some(mb) = i.idle_mb_lru.get(evict) else {
            return Err(if account_live >= i.account_limit {
                ThrottleReason::ConcurrentInvocationLimitExceeded
            } else {
                ThrottleReason::MemoryBudgetExceeded
            });
        };
        used = used.saturating_sub(*mb);
        account_live = account_live.saturating_sub(1);
        evict += 1;
    }
    Ok(StartPlan { evict })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input() -> StartInput {
        StartInput {
            function_live: 0,
            reserved: None,
            account_live: 0,
            account_limit: 1000,
            used_mb: 0,
            need_mb: 128,
            budget_mb: 1024,
            idle_mb_lru: vec![],
        }
    }

    fn check(change: impl FnOnce(&mut StartInput), expected: Result<StartPlan, ThrottleReason>) {
        let mut i = input();
        change(&mut i);
        assert_eq!(plan_start(&i), expected, "{i:?}");
    }

    #[test]
    fn decisions() {
        check(|_| {}, Ok(StartPlan { evict: 0 }));
        check(
            |i| {
                i.reserved = Some(2);
                i.function_live = 2;
            },
            Err(ThrottleReason::ReservedFunctionConcurrentInvocationLimitExceeded),
        );
        check(
            |i| {
                i.reserved = Some(0);
            },
            Err(ThrottleReason::ReservedFunctionConcurrentInvocationLimitExceeded),
        );
        check(
            |i| {
                i.used_mb = 1000;
            },
            Err(ThrottleReason::MemoryBudgetExceeded),
        );
        check(
            |i| {
                i.used_mb = 1000;
                i.idle_mb_lru = vec![64, 64, 512];
            },
            Ok(StartPlan { evict: 2 }),
        );
        check(
            |i| {
                i.account_live = 1000;
                i.idle_mb_lru = vec![128];
                i.used_mb = 128;
            },
            Ok(StartPlan { evict: 1 }),
        );
        check(
            |i| {
                i.account_live = 1000;
            },
            Err(ThrottleReason::ConcurrentInvocationLimitExceeded),
        );
    }
}
