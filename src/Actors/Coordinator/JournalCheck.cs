using Akka.Actor;
using Akka.Persistence;

namespace ActorLab.Actors.Coordinator;

/// <summary>
/// Proves the journal and snapshot store answer by letting a throwaway persistent actor recover (which reads
/// both, and creates their tables when auto-initialize is on). A coordinator-role node does it at start, so a
/// wrong connection string or missing tables is one clear error at once, and the plugins are warm when this
/// node has to take the coordinator over.
/// </summary>
public static class JournalCheck
{
    /// <summary>Null when the journal answered; else why not.</summary>
    public static string? Probe(ActorSystem system, TimeSpan timeout)
    {
        var done = new TaskCompletionSource<Exception?>(TaskCreationOptions.RunContinuationsAsynchronously);
        var probe = system.ActorOf(Props.Create(() => new Recoverer(done)), $"journal-check-{Guid.NewGuid():N}");
        try
        {
            if (!done.Task.Wait(timeout)) return $"no answer within {timeout.TotalSeconds:0} s";
            if (done.Task.Result is not { } e) return null;
            while (e.InnerException != null) e = e.InnerException;
            return e.Message;
        }
        finally
        {
            system.Stop(probe);
        }
    }

    sealed class Recoverer : ReceivePersistentActor
    {
        readonly TaskCompletionSource<Exception?> _done;

        public override string PersistenceId => "actorlab-journal-check";

        public Recoverer(TaskCompletionSource<Exception?> done)
        {
            _done = done;
            Recover<RecoveryCompleted>(_ => done.TrySetResult(null));
            Recover<object>(_ => { });
        }

        // the caller says what went wrong, once and without a stack trace
        protected override void OnRecoveryFailure(Exception reason, object? message = null)
        {
            _done.TrySetResult(reason);
            Context.Stop(Self);
        }
    }
}
