//! `hostUsers: false`: the ids of a pod's own user namespace, allocated kubelet's way.
//!
//! kubelet's user namespace manager hands each such pod one range of 65536 ids of the node,
//! starting at 65536·N with N ≥ 1 (ids below 65536 are the node's own users and are never
//! given away), records it in a `userns` file in the pod's directory, and frees it when the
//! pod is gone. Root inside the pod is 65536·N outside: `/proc/<pid>/uid_map` reads
//! `0 65536·N 65536`. The same range serves uids and gids.
//!
//! Two choices differ from kubelet's: kubelet takes a free range at random, podlab the lowest
//! free one, so a lesson can say which N the next pod gets; and the last range (N = 65535)
//! is never given, as its last id would be 4294967295, `(uid_t) -1`, which the kernel refuses
//! in a map.
//!
//! Pure: what is in use comes in as the first ids of the ranges that pods hold now.

use serde::{Deserialize, Serialize};

/// Ids per pod: kubelet's default (`userNamespaces.idsPerPod`), and its unit.
pub const RANGE_LENGTH: u32 = 65536;

/// The smallest N: range 0 holds the node's own users (root among them).
pub const FIRST_RANGE: u32 = 1;

/// The largest N podlab gives: 65535·65536 + 65535 would be `(uid_t) -1`.
pub const LAST_RANGE: u32 = 65534;

/// One pod's ids on the host: `length` ids from `first_id`, 0 inside being `first_id`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdRange {
    pub first_id: u32,
    pub length: u32,
}

impl IdRange {
    /// The N-th range.
    pub fn nth(n: u32) -> IdRange {
        IdRange {
            first_id: n * RANGE_LENGTH,
            length: RANGE_LENGTH,
        }
    }

    /// N, where the range starts at 65536·N.
    pub fn index(&self) -> u32 {
        self.first_id / RANGE_LENGTH
    }

    /// The line `/proc/<pid>/uid_map` (and `gid_map`) shows for it.
    pub fn map_line(&self) -> String {
        format!("0 {} {}", self.first_id, self.length)
    }

    /// The host's id of `inside`, if the range maps it.
    pub fn to_host(&self, inside: u32) -> Option<u32> {
        (inside < self.length).then(|| self.first_id + inside)
    }

    /// The range as kubelet records it in the pod's `userns` file: one mapping for uids and the
    /// same one for gids.
    pub fn record(&self) -> String {
        let one = serde_json::json!([{
            "hostId": self.first_id,
            "containerId": 0,
            "length": self.length,
        }]);
        serde_json::json!({ "uidMappings": one, "gidMappings": one }).to_string()
    }

    /// Read a pod's `userns` file back, refusing what podlab never writes (kubelet's checks:
    /// one mapping, the same for uids and gids, 0 mapped, a whole range at 65536·N, N ≥ 1).
    pub fn from_record(text: &str) -> Result<IdRange, String> {
        #[derive(Deserialize, PartialEq)]
        #[serde(rename_all = "camelCase")]
        struct Mapping {
            host_id: u32,
            container_id: u32,
            length: u32,
        }
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Record {
            uid_mappings: Vec<Mapping>,
            gid_mappings: Vec<Mapping>,
        }
        let record: Record =
            serde_json::from_str(text).map_err(|e| format!("not a user namespace record: {e}"))?;
        let [uid] = record.uid_mappings.as_slice() else {
            return Err("exactly one uid mapping expected".into());
        };
        if record.gid_mappings.len() != 1 || record.gid_mappings[0] != *uid {
            return Err("the gid mapping must be the uid mapping".into());
        }
        if uid.container_id != 0 {
            return Err("id 0 must be mapped".into());
        }
        let range = IdRange {
            first_id: uid.host_id,
            length: uid.length,
        };
        if uid.length != RANGE_LENGTH
            || uid.host_id % RANGE_LENGTH != 0
            || !(FIRST_RANGE..=LAST_RANGE).contains(&range.index())
        {
            return Err(format!(
                "{} is not a range of {RANGE_LENGTH} ids at 65536·N (N from {FIRST_RANGE} to {LAST_RANGE})",
                range.map_line()
            ));
        }
        Ok(range)
    }
}

/// Every range is held by a pod.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exhausted;

/// The lowest free range, given the first ids of the ranges in use.
pub fn allocate(in_use: impl IntoIterator<Item = u32>) -> Result<IdRange, Exhausted> {
    let mut used: Vec<u32> = in_use
        .into_iter()
        .filter(|id| id % RANGE_LENGTH == 0)
        .map(|id| id / RANGE_LENGTH)
        .collect();
    used.sort_unstable();
    used.dedup();
    let mut candidate = FIRST_RANGE;
    for n in used {
        if n == candidate {
            candidate += 1;
        } else if n > candidate {
            break;
        }
    }
    if candidate > LAST_RANGE {
        return Err(Exhausted);
    }
    Ok(IdRange::nth(candidate))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_pod_gets_65536_and_the_next_the_next_range() {
        let first = allocate([]).unwrap();
        assert_eq!(first, IdRange::nth(1));
        assert_eq!(first.map_line(), "0 65536 65536");
        let second = allocate([first.first_id]).unwrap();
        assert_eq!(second.first_id, 131072);
        assert_eq!(second.index(), 2);
    }

    #[test]
    fn a_freed_range_is_given_again_lowest_first() {
        // Pods at N = 1, 2, 4: the pod at 3 was deleted.
        let used = [65536, 131072, 262144];
        assert_eq!(allocate(used).unwrap().index(), 3);
        assert_eq!(allocate([262144, 131072]).unwrap().index(), 1);
        // The same range twice (a stale record) counts once.
        assert_eq!(allocate([65536, 65536]).unwrap().index(), 2);
    }

    #[test]
    fn range_zero_and_ids_off_the_grid_are_never_in_the_way() {
        // 0 is the node's own range: never given, never counted.
        assert_eq!(allocate([0]).unwrap().index(), 1);
        assert_eq!(allocate([65537]).unwrap().index(), 1);
    }

    #[test]
    fn when_every_range_is_held_there_is_none() {
        let all = (FIRST_RANGE..=LAST_RANGE).map(|n| n * RANGE_LENGTH);
        assert_eq!(allocate(all), Err(Exhausted));
        let all_but_last = (FIRST_RANGE..LAST_RANGE).map(|n| n * RANGE_LENGTH);
        let last = allocate(all_but_last).unwrap();
        assert_eq!(last.index(), LAST_RANGE);
        // Its last id stays below (uid_t) -1.
        assert_eq!(last.to_host(65535), Some(u32::MAX - 65536));
    }

    #[test]
    fn ids_inside_map_into_the_range_only() {
        let r = IdRange::nth(3);
        assert_eq!(r.to_host(0), Some(196608));
        assert_eq!(r.to_host(65535), Some(262143));
        assert_eq!(r.to_host(65536), None);
    }

    #[test]
    fn the_record_reads_back_and_bad_records_are_refused() {
        let r = IdRange::nth(2);
        assert_eq!(IdRange::from_record(&r.record()), Ok(r));
        let bad = |uid: &str, gid: &str| {
            IdRange::from_record(&format!(r#"{{"uidMappings":{uid},"gidMappings":{gid}}}"#))
        };
        let m = |host: u32, inside: u32, len: u32| {
            format!(r#"[{{"hostId":{host},"containerId":{inside},"length":{len}}}]"#)
        };
        assert!(bad(&m(65536, 0, 65536), &m(65536, 0, 65536)).is_ok());
        assert!(bad(&m(0, 0, 65536), &m(0, 0, 65536)).is_err(), "range 0");
        assert!(bad(&m(65537, 0, 65536), &m(65537, 0, 65536)).is_err());
        assert!(bad(&m(65536, 1, 65536), &m(65536, 1, 65536)).is_err());
        assert!(bad(&m(65536, 0, 1000), &m(65536, 0, 1000)).is_err());
        assert!(bad(&m(65536, 0, 65536), &m(131072, 0, 65536)).is_err());
        assert!(bad("[]", "[]").is_err());
        assert!(IdRange::from_record("garbage").is_err());
    }
}
