//! `DistinctKeys` counts each key once, whatever its table of recent keys holds.

use sipaccord_capture::DistinctKeys;

#[test]
fn counts_each_key_once_whatever_the_table_holds() {
    let mut keys = DistinctKeys::default();
    // Many more keys than the table has slots, each seen several times, near and far apart; zero too.
    let all: Vec<u64> = (0..20_000u64).map(|i| i.wrapping_mul(0x2545_f491_4f6c_dd1d)).collect();
    let mut new = 0;
    for round in 0..3 {
        for (i, &k) in all.iter().enumerate() {
            new += usize::from(keys.insert(k));
            if i % 7 == round {
                new += usize::from(keys.insert(all[i / 2]));
            }
        }
    }
    assert_eq!((keys.len(), new), (all.len(), all.len()));
}
