using Akka.Actor;
using Akka.Event;

namespace ActorLab.Actors.Config;

/// <summary>
/// An Akka logger that appends every log line to a file as well (`actorlab node` logs to
/// &lt;data-dir&gt;/logs/node.log). The path comes from `actorlab.log-file`; lines are flushed as they come.
/// </summary>
public sealed class FileLogger : ReceiveActor
{
    readonly StreamWriter _out;

    public FileLogger()
    {
        var path = Context.System.Settings.Config.GetString("actorlab.log-file", "");
        if (string.IsNullOrEmpty(path)) path = Path.Combine(Context.System.Settings.Config.GetString("actorlab.data-dir"), "logs", "actorlab.log");
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        // appending to a pipe would block and to a device would fail later: only a regular file (or a new one) is opened
        path = ActorLab.Model.Common.PathChecks.Replaceable(Path.GetFullPath(path), "actorlab.log-file");
        _out = new StreamWriter(new FileStream(path, FileMode.Append, FileAccess.Write, FileShare.ReadWrite)) { AutoFlush = true };
        Receive<InitializeLogger>(_ => Sender.Tell(new LoggerInitialized()));
        Receive<LogEvent>(e =>
        {
            var level = e.LogLevel() switch
            {
                LogLevel.DebugLevel => "DEBUG", LogLevel.InfoLevel => "INFO", LogLevel.WarningLevel => "WARN", _ => "ERROR",
            };
            var cause = e.Cause != null ? $" | {e.Cause.GetType().Name}: {e.Cause.Message}" : "";
            _out.WriteLine($"{e.Timestamp:O} {level} [{e.LogSource}] {e.Message}{cause}");
        });
    }

    protected override void PostStop() => _out.Dispose();
}
