//! ferry's global allocator: mimalloc v3, built without transparent huge pages.
//!
//! The `mimalloc` crate's allocator passes every request to `mi_malloc_aligned` (and
//! `mi_realloc_aligned`), whose checks cost a few percent of a chart render, which allocates a
//! lot of small blocks. Nearly every Rust allocation asks for an alignment of 8 or less, and
//! every mimalloc block is at least word-aligned (block sizes are whole words; the first block
//! of a page is 16-aligned), so those go to plain `mi_malloc`/`mi_realloc`; larger alignments
//! take the aligned calls.
//!
//! ```
//! #[global_allocator]
//! static GLOBAL: alloc_mi::MiMalloc = alloc_mi::MiMalloc;
//!
//! let v: Vec<u64> = (0..1000).collect();
//! assert_eq!(v.iter().sum::<u64>(), 499_500);
//! ```
//!
//! Why mimalloc, and why without transparent huge pages: see crates/ferry/src/main.rs.

#![no_std]

use core::alloc::{GlobalAlloc, Layout};
use core::ffi::c_void;

use libmimalloc_sys as ffi;

/// The largest alignment every mimalloc block has, whatever its size: a machine word.
const WORD: usize = core::mem::size_of::<usize>();

/// The allocator (a unit value, for `#[global_allocator]`).
pub struct MiMalloc;

// SAFETY: every method forwards to mimalloc, which returns blocks of at least the requested
// size or null. Blocks from `mi_malloc`/`mi_zalloc`/`mi_realloc` are word-aligned (mimalloc's
// block sizes are multiples of the word size and pages start 16-aligned), so they are used
// only for layouts whose alignment is at most a word; other layouts use the `_aligned` calls.
// Any mimalloc block, however allocated, is freed by `mi_free` and may be resized by either
// realloc (mimalloc keeps no separate state for aligned blocks). `realloc` keeps the layout's
// alignment, as `GlobalAlloc::realloc` requires.
unsafe impl GlobalAlloc for MiMalloc {
    #[inline]
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: see the impl.
        unsafe {
            if layout.align() <= WORD {
                ffi::mi_malloc(layout.size()) as *mut u8
            } else {
                ffi::mi_malloc_aligned(layout.size(), layout.align()) as *mut u8
            }
        }
    }

    #[inline]
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: see the impl.
        unsafe {
            if layout.align() <= WORD {
                ffi::mi_zalloc(layout.size()) as *mut u8
            } else {
                ffi::mi_zalloc_aligned(layout.size(), layout.align()) as *mut u8
            }
        }
    }

    #[inline]
    unsafe fn dealloc(&self, ptr: *mut u8, _layout: Layout) {
        // SAFETY: `ptr` came from this allocator (GlobalAlloc's contract).
        unsafe { ffi::mi_free(ptr as *mut c_void) }
    }

    #[inline]
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: `ptr` came from this allocator with `layout` (GlobalAlloc's contract); see
        // the impl for the alignment.
        unsafe {
            if layout.align() <= WORD {
                ffi::mi_realloc(ptr as *mut c_void, new_size) as *mut u8
            } else {
                ffi::mi_realloc_aligned(ptr as *mut c_void, new_size, layout.align()) as *mut u8
            }
        }
    }
}

#[cfg(test)]
mod tests {
    extern crate std;
    use std::vec::Vec;

    use super::*;

    /// Every size up to a few pages' worth of small bins and alignments up to 4 KiB: blocks
    /// are aligned as asked and hold their bytes, also through a growing and a shrinking
    /// realloc; zeroed blocks are zero.
    #[test]
    fn alignment_and_contents() {
        let a = MiMalloc;
        let sizes: Vec<usize> = (1..=160)
            .chain([255, 256, 1000, 4095, 4096, 70_000])
            .collect();
        let byte = |i: usize| (i % 251) as u8;
        for align in [1usize, 2, 4, 8, 16, 32, 64, 4096] {
            // Kept alive to the end, so later blocks come from partly used pages.
            let mut live = Vec::new();
            for &size in &sizes {
                let layout = Layout::from_size_align(size, align).unwrap();
                // SAFETY: non-zero sizes; every block is written and read within its
                // current size and freed with its current layout.
                unsafe {
                    let z = a.alloc_zeroed(layout);
                    assert_eq!(z as usize % align, 0, "zeroed: size {size} align {align}");
                    assert!((0..size).all(|i| *z.add(i) == 0));
                    a.dealloc(z, layout);

                    let p = a.alloc(layout);
                    assert_eq!(p as usize % align, 0, "size {size} align {align}");
                    for i in 0..size {
                        *p.add(i) = byte(i);
                    }
                    let grown = size * 3 + 7;
                    let g = a.realloc(p, layout, grown);
                    assert_eq!(g as usize % align, 0, "grown: size {size} align {align}");
                    assert!((0..size).all(|i| *g.add(i) == byte(i)));
                    let shrunk = size / 2 + 1;
                    let s = a.realloc(g, Layout::from_size_align(grown, align).unwrap(), shrunk);
                    assert_eq!(s as usize % align, 0, "shrunk: size {size} align {align}");
                    assert!((0..shrunk).all(|i| *s.add(i) == byte(i)));
                    live.push((s, Layout::from_size_align(shrunk, align).unwrap()));
                }
            }
            for (p, layout) in live {
                // SAFETY: allocated above; `layout` is its current one.
                unsafe { a.dealloc(p, layout) }
            }
        }
    }
}
