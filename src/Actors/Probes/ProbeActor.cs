using System.Diagnostics;
using Akka.Actor;

namespace ActorLab.Actors.Probes;

/// <summary>
/// One probe slot: fits the probes it is sent, one at a time, and reports each outcome to the sender. Fitting
/// blocks in native code for seconds to minutes, so the actor runs on its own thread
/// (<see cref="Dispatcher"/>, a pinned dispatcher) where the system configures one. An exception from a job
/// becomes a <see cref="ProbeJobFailed"/> reply; the actor stays up for the next job.
/// </summary>
public sealed class ProbeActor : ReceiveActor
{
    /// <summary>HOCON path of the pinned dispatcher probe actors use when it is configured.</summary>
    public const string Dispatcher = "actorlab.probe-dispatcher";

    /// <summary>HOCON that defines <see cref="Dispatcher"/>: one dedicated thread per probe actor.</summary>
    public const string DispatcherConfig = "actorlab.probe-dispatcher { type = PinnedDispatcher }";

    public ProbeActor(IProbeJobExecutor executor)
    {
        Receive<RunProbeJob>(msg =>
        {
            var sw = Stopwatch.StartNew();
            try
            {
                var result = executor.Execute(msg.Job);
                Sender.Tell(new ProbeJobSucceeded(msg.Job, msg.Attempt, result, sw.Elapsed));
            }
            catch (Exception e)
            {
                Sender.Tell(new ProbeJobFailed(msg.Job, msg.Attempt, $"{e.GetType().Name}: {e.Message}"));
            }
        });
    }

    /// <summary>Props on the pinned probe dispatcher when <paramref name="system"/> has it, else the default one.</summary>
    public static Props Props(IProbeJobExecutor executor, ActorSystem system)
    {
        var props = Akka.Actor.Props.Create(() => new ProbeActor(executor));
        return system.Dispatchers.HasDispatcher(Dispatcher) ? props.WithDispatcher(Dispatcher) : props;
    }
}
