pub fn register(_m: &mut gotmpl::FuncMap) {}
pub struct GoTime;
