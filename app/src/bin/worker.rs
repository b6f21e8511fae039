fn main() {
    console_error_panic_hook::set_once();
    <distillate_app::agent::InferenceWorker as gloo_worker::Registrable>::registrar().register();
}
