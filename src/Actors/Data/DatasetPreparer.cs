using Akka.Actor;
using Akka.Event;
using ActorLab.Actors.Coordinator;
using ActorLab.Actors.Sweeps;
using ActorLab.Actors.Training;

namespace ActorLab.Actors.Data;

/// <summary>
/// Generates a dataset's profiles and trains its tokenizer (through the backend, which caches by content under
/// the data dir), one dataset at a time on the blocking dispatcher, and reports the outcome to the coordinator.
/// </summary>
public sealed class DatasetPreparer : ReceiveActor
{
    public sealed record Prepare(DatasetSpec Dataset);

    public const string DispatcherId = "actorlab.blocking-dispatcher";

    public static Props Props(ITrainingBackend backend, string dataDir) =>
        Akka.Actor.Props.Create(() => new DatasetPreparer(backend, dataDir)).WithDispatcher(DispatcherId);

    public DatasetPreparer(ITrainingBackend backend, string dataDir)
    {
        var log = Context.GetLogger();
        Receive<Prepare>(p =>
        {
            var ds = p.Dataset;
            log.Info("dataset={0} event=preparing n={1} relations={2}", ds.Key, ds.NProfiles, ds.Relations);
            try
            {
                var prepared = backend.PrepareDataset(ds, dataDir, CancellationToken.None);
                log.Info("dataset={0} event=prepared profiles={1} tokenizer={2}", ds.Key, prepared.ProfilesPath, prepared.TokenizerPath);
                Sender.Tell(new ReportDatasetPrepared(ds.Key, prepared.ProfilesPath, prepared.TokenizerPath));
            }
            catch (Exception e)
            {
                log.Error(e, "dataset={0} event=failed", ds.Key);
                Sender.Tell(new ReportDatasetFailed(ds.Key, e.Message));
            }
        });
    }
}
