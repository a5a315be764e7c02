pub fn register(_m: &mut gotmpl::FuncMap) {}
