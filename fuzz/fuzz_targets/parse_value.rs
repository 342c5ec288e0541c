//! Feeds arbitrary text to the label parser of every object. A panic in the parser or the
//! lint fails the run, and so does a request that does not print as a tail that parses back
//! to it.

#![no_main]

use dehandler::iproute::{Object, lint_value, parse_segment, parse_value};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(value) = std::str::from_utf8(data) else {
        return;
    };
    for object in [Object::Address, Object::Route, Object::Rule] {
        let _ = lint_value(object, value);
        let Ok(requests) = parse_value(object, value) else {
            continue;
        };
        for request in requests {
            let tail = request.tail();
            let again = parse_segment(object, &tail)
                .unwrap_or_else(|e| panic!("{object} {value:?} printed as {tail:?}: {e}"));
            assert_eq!(again, request, "{object} {value:?} printed as {tail:?}");
        }
    }
});
