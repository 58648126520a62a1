namespace ActorLab.Bench;

/// <summary>
/// `dotnet run --project bench/ActorLab.Bench -c Release -- &lt;benchmark&gt; [args]`. One file per benchmark; add a
/// case here. Each prints a markdown table and writes bench/results/&lt;benchmark&gt;.md.
/// </summary>
public static class Program
{
    public static int Main(string[] args)
    {
        var name = args.Length > 0 ? args[0] : "";
        var rest = args.Skip(1).ToArray();
        switch (name)
        {
            case "profiles": return ProfilesBench.Run(rest);
            case ProfilesBench.ChildCommand: return ProfilesBench.RunChild(rest);
            case "qa": return QaBench.Run(rest);
            case "train": return TrainBench.Run(rest);
            case "reeval": return ReevalBench.Run(rest);
            case "measure": return MeasureBench.Run(rest);
            case "actors": return ActorsBench.Run(rest);
            case "cluster": return ClusterBench.Run(rest);
            case "tls": return TlsBench.Run(rest);
            case "ring": return RingBench.Run(rest);
            case "dp": return DataParallelBench.Run(rest);
            case "consoleflood": return ConsoleFloodBench.Run(rest);
            case "dashboard": return DashboardBench.Run(rest);
            case MeasureBench.ChildCommand: return MeasureBench.RunChild(rest);
            case "badinput": return BadInputBench.Run(rest);
            case "damaged": return DamagedStateBench.Run(rest);
            case BadInputBench.FuzzChild: return BadInputBench.RunFuzzChild(rest);
            default:
                Console.Error.WriteLine("usage: ActorLab.Bench <benchmark> [args]\nbenchmarks: profiles, qa, train, reeval, measure [runs] [checkpoints], actors, cluster, tls [--rounds R] [--asks N], ring [--sizes-mb 1,4,25,100] [--world W] [--rounds R], dp [--steps S] [--rounds R], consoleflood [--rounds R] [--window S] [--consoles N] [--outstanding K] [--max-in-flight B], badinput [fuzz-cases] [seed], damaged, dashboard [--runs N] [--rounds R]");
                return 2;
        }
    }
}
