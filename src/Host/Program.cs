using ActorLab.Host.Cli;

return CliApp.Run(args);
