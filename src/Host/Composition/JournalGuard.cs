using Akka.Actor;
using Akka.Cluster;
using Akka.Event;
using ActorLab.Actors.Config;

namespace ActorLab.Host.Composition;

/// <summary>
/// Keeps a SQLite journal to one coordinator: coordinator-role nodes on SQLite carry the role
/// <see cref="SqliteRole"/>, and when a cluster has several coordinator-role members and any of them is on SQLite,
/// two coordinators could keep two histories, so the youngest of them leaves the cluster with an error. (PostgreSQL
/// journals are shared; there the singleton keeps one writer and the journal's unique key is the last defence.)
/// </summary>
public sealed class JournalGuard : ReceiveActor
{
    public const string SqliteRole = "journal-sqlite";

    public static Props Props() => Akka.Actor.Props.Create(() => new JournalGuard());

    public JournalGuard()
    {
        var cluster = Cluster.Get(Context.System);
        var log = Context.GetLogger();
        Receive<ClusterEvent.MemberUp>(_ =>
        {
            var coordinators = cluster.State.Members.Where(m => m.Status == MemberStatus.Up && m.HasRole(Roles.Coordinator)).ToList();
            if (coordinators.Count < 2 || !coordinators.Any(m => m.HasRole(SqliteRole))) return;
            var youngest = coordinators.Aggregate((a, b) => a.IsOlderThan(b) ? b : a);
            if (youngest.UniqueAddress != cluster.SelfUniqueAddress) return;
            var message = $"this node ({cluster.SelfAddress}) is a second coordinator-role member of a cluster whose coordinator journal is SQLite " +
                          "(one machine's file): leaving the cluster. Several coordinator-role nodes need the PostgreSQL journal (hocon/cluster.conf), " +
                          "or start this node with --roles trainer.";
            log.Error(message);
            Console.Error.WriteLine($"error: {message}");
            Environment.ExitCode = 2;
            cluster.Leave(cluster.SelfAddress);
        });
        Receive<ClusterEvent.CurrentClusterState>(_ => { });
    }

    protected override void PreStart() =>
        Cluster.Get(Context.System).Subscribe(Self, ClusterEvent.SubscriptionInitialStateMode.InitialStateAsEvents, typeof(ClusterEvent.MemberUp));

    protected override void PostStop() => Cluster.Get(Context.System).Unsubscribe(Self);
}
