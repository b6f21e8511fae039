fn main() {
    std::panic::set_hook(Box::new(|info| {
        console_error_panic_hook::hook(info);
        distillate_worker::agent::announce_panic(&info.to_string());
    }));
    <distillate_worker::agent::InferenceWorker as gloo_worker::Registrable>::registrar().register();
}
