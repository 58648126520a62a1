using Akka.Actor;
using Akka.Event;
using ActorLab.Actors.Coordinator;
using ActorLab.Actors.Data;
using ActorLab.Actors.Sweeps;
using ActorLab.Actors.Training;

namespace ActorLab.Actors.Evaluation;

/// <summary>
/// Measures capacity when a sweep's runs have all ended: reads every run's eval results and writes the capacity
/// tables and plots into the sweep folder (through the backend). Blocking work, on the blocking dispatcher.
/// Checkpoint evals happen in the trainer (rank 0), which has the model in memory at that step.
/// </summary>
public sealed class EvaluatorActor : ReceiveActor
{
    public sealed record MeasureCapacity(SweepSpec Sweep, IReadOnlyList<(RunSpec Run, string RunDir)> Runs, string OutputDir);

    public static Props Props(ITrainingBackend backend) =>
        Akka.Actor.Props.Create(() => new EvaluatorActor(backend)).WithDispatcher(DatasetPreparer.DispatcherId);

    public EvaluatorActor(ITrainingBackend backend)
    {
        var log = Context.GetLogger();
        Receive<MeasureCapacity>(m =>
        {
            log.Info("sweep={0} event=measuring runs={1}", m.Sweep.Name, m.Runs.Count);
            string? error = null;
            try
            {
                Directory.CreateDirectory(m.OutputDir);
                backend.MeasureCapacity(m.Sweep, m.Runs, m.OutputDir, CancellationToken.None);
            }
            catch (Exception e)
            {
                log.Error(e, "sweep={0} event=measure-failed", m.Sweep.Name);
                error = e.Message;
            }
            Sender.Tell(new ReportCapacity(m.Sweep.Name, m.OutputDir, error));
        });
    }
}
