using ActorLab.Host.Cli;
using ActorLab.Host.Composition;

// before libtorch loads: its C++ warnings are not for researchers (TORCH_CPP_LOG_LEVEL=INFO shows them)
TorchLogging.Quiet();
return CliApp.Run(args);
