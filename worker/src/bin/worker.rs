fn main() {
    std::panic::set_hook(Box::new(|info| {
        console_error_panic_hook::hook(info);
        distillate_app::agent::announce_panic(&info.to_string());
    }));
    <distillate_app::agent::InferenceWorker as gloo_worker::Registrable>::registrar().register();
}
