using ActorLab.Model.Probes;
using Akka.Actor;

namespace ActorLab.Actors.Probes;

/// <summary>
/// Runs a probe sweep on an <see cref="ActorSystem"/> and awaits its end: the entry point for `actorlab probe
/// --parallel K` (an in-process system) and for anything else that wants a sweep as a task.
/// </summary>
public static class ProbeSweepRunner
{
    public static Task<ProbeSweepFinished> RunAsync(ActorSystem system, ProbeSweepSpec spec, IProbeJobExecutor executor,
        Action<ProbeSweepProgress>? progress = null, string name = "probe-sweep")
    {
        var done = new TaskCompletionSource<ProbeSweepFinished>(TaskCreationOptions.RunContinuationsAsynchronously);
        system.ActorOf(Props.Create(() => new Relay(spec, executor, progress, done)), $"{name}-{Guid.NewGuid():N}");
        return done.Task;
    }

    /// <summary>Starts the sweep as its child, forwards progress to a callback and completes the task when it ends.</summary>
    sealed class Relay : ReceiveActor
    {
        public Relay(ProbeSweepSpec spec, IProbeJobExecutor executor, Action<ProbeSweepProgress>? progress, TaskCompletionSource<ProbeSweepFinished> done)
        {
            var sweep = Context.ActorOf(ProbeSweepActor.Props(spec, executor, Self), "sweep");
            Context.Watch(sweep);
            Receive<ProbeSweepProgress>(p => progress?.Invoke(p));
            Receive<ProbeSweepFinished>(f =>
            {
                done.TrySetResult(f);
                Context.Stop(Self);
            });
            Receive<Terminated>(_ =>
            {
                done.TrySetException(new InvalidOperationException("the probe sweep stopped before reporting its results"));
                Context.Stop(Self);
            });
        }

        protected override SupervisorStrategy SupervisorStrategy() => new OneForOneStrategy(_ => Directive.Stop);
    }
}
