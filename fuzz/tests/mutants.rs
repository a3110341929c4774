//! Mutants of the corpus, generated and shrunk by proptest: a few dozen per
//! target in the default run (`PROPTEST_CASES` raises it). The slow tier's
//! long run is in `slow.rs`.

use std::cell::RefCell;
use std::collections::HashMap;

use fleetgov_fuzz::mutate::Mutation;
use fleetgov_fuzz::{Harness, corpus};
use proptest::prelude::*;
use proptest::sample::Index;

/// A target's harness and its corpus inputs.
type Loaded = (Box<dyn Harness>, Vec<Vec<u8>>);

thread_local! {
    /// One harness and corpus per target, built on first use.
    static HARNESSES: RefCell<HashMap<&'static str, Loaded>> = RefCell::default();
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<u32>(), any::<u8>()).prop_map(|(at, bit)| Mutation::FlipBit { at, bit }),
        (any::<u32>(), any::<u8>()).prop_map(|(at, value)| Mutation::SetByte { at, value }),
        (any::<u32>(), any::<u8>(), any::<u8>(), any::<bool>())
            .prop_map(|(at, width, pick, big_endian)| Mutation::Interesting { at, width, pick, big_endian }),
        any::<u32>().prop_map(|len| Mutation::Truncate { len }),
        (any::<u32>(), 1..=256u16).prop_map(|(at, len)| Mutation::Remove { at, len }),
        (any::<u32>(), 1..=256u16).prop_map(|(at, len)| Mutation::Duplicate { at, len }),
        (any::<u32>(), any::<u16>()).prop_map(|(at, pick)| Mutation::Token { at, pick }),
        (any::<u16>(), any::<u32>(), 1..=512u16, any::<u32>()).prop_map(|(other, from, len, at)| Mutation::Splice {
            other,
            from,
            len,
            at
        }),
    ]
}

/// Runs corpus input `pick` of `name`, changed by `mutations`, through the target's harness.
fn mutant(name: &'static str, pick: Index, mutations: &[Mutation]) {
    HARNESSES.with_borrow_mut(|harnesses| {
        let (harness, inputs) = harnesses.entry(name).or_insert_with(|| {
            let target = fleetgov_fuzz::target(name).expect("a target");
            let inputs = corpus::read(target).expect("the corpus reads").into_iter().map(|(_, b)| b).collect();
            ((target.harness)(), inputs)
        });
        let dictionary = fleetgov_fuzz::target(name).expect("a target").dictionary;
        let mut data = pick.get(inputs).clone();
        for m in mutations {
            m.apply(&mut data, dictionary, inputs);
        }
        harness.run(&data);
    });
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn heartbeat_batch_mutants(pick: Index, mutations in prop::collection::vec(mutation(), 1..8)) {
        mutant("heartbeat_batch", pick, &mutations);
    }

    #[test]
    fn audit_frame_mutants(pick: Index, mutations in prop::collection::vec(mutation(), 1..8)) {
        mutant("audit_frame", pick, &mutations);
    }

    #[test]
    fn audit_file_mutants(pick: Index, mutations in prop::collection::vec(mutation(), 1..8)) {
        mutant("audit_file", pick, &mutations);
    }

    #[test]
    fn heartbeat_json_mutants(pick: Index, mutations in prop::collection::vec(mutation(), 1..8)) {
        mutant("heartbeat_json", pick, &mutations);
    }

    #[test]
    fn nats_wire_mutants(pick: Index, mutations in prop::collection::vec(mutation(), 1..8)) {
        mutant("nats_wire", pick, &mutations);
    }
}
