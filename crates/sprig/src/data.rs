//! Lists, dicts, defaults and reflection helpers over the value model.

use std::cell::RefCell;
use std::rc::Rc;

use gotmpl::{ElemType, List, Map, MapType, MapValue, Value};

/// Sprig's `empty` (reflection-based emptiness; structs are never empty).
pub fn is_empty(v: &Value) -> bool {
    match v {
        Value::Object(_) => false,
        other => !other.truthy(),
    }
}

/// Go's `reflect.DeepEqual` over the value model: types must match exactly
/// (`int` 2 ≠ `float64` 2, `[]string` ≠ `[]interface {}`).
pub fn deep_equal(a: &Value, b: &Value) -> bool {
    // reflect.DeepEqual tells a nil map or slice from an empty one.
    if a.is_typed_nil() != b.is_typed_nil() {
        return false;
    }
    match (a, b) {
        (Value::Nil, Value::Nil) => true,
        (Value::Bool(x), Value::Bool(y)) => x == y,
        (Value::Int(x), Value::Int(y)) => x == y,
        (Value::Int64(x), Value::Int64(y)) => x == y,
        (Value::Float(x), Value::Float(y)) => x == y,
        (Value::String(x), Value::String(y)) => x == y,
        (Value::Bytes(x), Value::Bytes(y)) => x == y,
        (Value::List(x), Value::List(y)) => {
            x.elem == y.elem
                && x.items.len() == y.items.len()
                && x.items
                    .iter()
                    .zip(y.items.iter())
                    .all(|(p, q)| deep_equal(p, q))
        }
        (Value::Map(x), Value::Map(y)) => {
            if Rc::ptr_eq(x, y) {
                return true;
            }
            if x.ty != y.ty {
                return false;
            }
            let (xm, ym) = (x.entries.borrow(), y.entries.borrow());
            xm.len() == ym.len()
                && xm
                    .iter()
                    .all(|(k, v)| ym.get(k).is_some_and(|w| deep_equal(v, w)))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.type_name() == y.type_name() && x.format() == y.format()
        }
        _ => false,
    }
}

/// A new `[]interface {}` value.
pub fn ilist(items: Vec<Value>) -> Value {
    Value::List(Rc::new(List {
        elem: ElemType::Interface,
        items,
    }))
}

/// A new list with the given element type.
pub fn typed_list(elem: ElemType, items: Vec<Value>) -> Value {
    Value::List(Rc::new(List { elem, items }))
}

/// A new map value of the given type.
pub fn new_map(ty: MapType, entries: Map) -> Value {
    Value::Map(Rc::new(MapValue {
        ty,
        entries: RefCell::new(entries),
    }))
}

/// Elements of a slice value, or `None` when `v` is not a slice (Go kind check).
pub fn slice_items(v: &Value) -> Option<Vec<Value>> {
    match v {
        Value::List(l) => Some(l.items.clone()),
        Value::Bytes(b) => Some(b.iter().map(|x| Value::Int(*x as i64)).collect()),
        _ => None,
    }
}

/// `deepCopy` (mitchellh/copystructure): maps are copied recursively.
pub fn deep_copy(v: &Value) -> Value {
    if v.is_typed_nil() {
        return v.clone();
    }
    match v {
        Value::List(l) => Value::List(Rc::new(List {
            elem: l.elem,
            items: l.items.iter().map(deep_copy).collect(),
        })),
        Value::Map(m) => {
            let entries: Map = m
                .entries
                .borrow()
                .iter()
                .map(|(k, x)| (k.clone(), deep_copy(x)))
                .collect();
            new_map(m.ty, entries)
        }
        other => other.clone(),
    }
}

/// dario.cat/mergo `Merge` / `MergeWithOverwrite` of `src` into `dst` (maps only).
pub fn merge_maps(dst: &Rc<MapValue>, src: &Rc<MapValue>, overwrite: bool) {
    merge_depth(dst, src, overwrite, 0)
}

fn merge_depth(dst: &Rc<MapValue>, src: &Rc<MapValue>, overwrite: bool, depth: usize) {
    if Rc::ptr_eq(dst, src) || depth > 64 {
        return;
    }
    let snapshot: Vec<(String, Value)> = src
        .entries
        .borrow()
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    for (k, sv) in snapshot {
        let dv = dst.entries.borrow().get(&k).cloned();
        if sv.is_nil() {
            if overwrite {
                dst.entries.borrow_mut().insert(k, Value::Nil);
            }
            continue;
        }
        if let (Value::Map(sm), Some(Value::Map(dm))) = (&sv, &dv) {
            merge_depth(dm, sm, overwrite, depth + 1);
        }
        if let Some(d) = &dv
            && !is_empty(d)
        {
            if matches!(sv, Value::List(_)) {
                if overwrite {
                    dst.entries.borrow_mut().insert(k, sv);
                }
                continue;
            }
            if matches!(sv, Value::Map(_)) && matches!(d, Value::Map(_)) {
                continue;
            }
        }
        if overwrite || dv.as_ref().is_none_or(is_empty) {
            dst.entries.borrow_mut().insert(k, sv);
        }
    }
}

/// Sprig's `strslice` (`toStrings`, `join`): nil elements are dropped.
pub fn strslice(v: &Value) -> Vec<String> {
    match v {
        Value::List(l) => l
            .items
            .iter()
            .filter(|x| !x.is_nil())
            .map(crate::gofmt::strval)
            .collect(),
        Value::Bytes(b) => b.iter().map(|x| x.to_string()).collect(),
        Value::Nil => Vec::new(),
        other => vec![crate::gofmt::strval(other)],
    }
}
