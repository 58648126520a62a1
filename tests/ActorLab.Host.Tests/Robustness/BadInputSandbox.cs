using System.Diagnostics;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using ActorLab.Host.Cli;
using ActorLab.Model.Profiles;
using ActorLab.Model.Qa;
using ActorLab.Model.Training;

namespace ActorLab.Host.Tests.Robustness;

/// <summary>
/// One folder with everything the bad invocations point at: a valid profiles file, tokenizer, trained run and
/// checkpoint, sweep and config files, and damaged copies of each (a parquet footer claiming 2 GiB, a checkpoint with
/// a bad RNG state or a model that does not match its weights but a self-consistent manifest, ...), a read-only
/// folder (immutable, so that it binds root too), a device and a pipe. Built once, shared by every case; the suite
/// checks that no case changes anything in it.
/// </summary>
public sealed class BadInputSandbox : IDisposable
{
    public string Root { get; }
    readonly Dictionary<string, string> paths = new();
    readonly List<string> immutable = [];

    /// <summary>Whether the read-only folders really refuse writes here (false where root has no chattr).</summary>
    public bool ReadOnlyWorks { get; }

    /// <summary>Whether {dev} is a real character device (root with mknod) rather than a second pipe.</summary>
    public bool HasDevice { get; }

    public BadInputSandbox()
    {
        Root = Directory.CreateTempSubdirectory("actorlab-badinput-").FullName;
        string P(string key, string rel) => paths[key] = Path.Combine(Root, rel);

        // valid inputs
        var db = ProfileGenerator.Generate(new ProfileGeneratorConfig(30, 2, Seed: 1), ValueLists.Default);
        ProfileParquet.Write(db, P("p", "profiles.parquet"));
        Directory.CreateDirectory(P("tok", "tok"));
        QaTokenizer.Train(QaCorpus.Texts(db, 0), 400).Save(paths["tok"]);
        Directory.CreateDirectory(P("tok350", "tok350"));
        QaTokenizer.Train(QaCorpus.Texts(db, 0), 350).Save(paths["tok350"]);
        TrainRun(P("runs", "runs"));
        var run = Directory.GetDirectories(paths["runs"]).Single();
        paths["run"] = run;
        paths["ck"] = Checkpoints.List(run).Last().Dir;
        File.WriteAllText(P("sweep", "sweep.conf"), """
            sweep {
              name = tiny
              grid { layers = [1], param-budgets = [330000], relations = [2], n-profiles = [20], orders = [[1]] }
              vocab-size = 400
              batch-size = 2
              seq-len = 64
              max-steps = 2
            }
            """);
        Directory.CreateDirectory(P("empty", "empty-folder"));

        // damaged profiles files
        var good = File.ReadAllBytes(paths["p"]);
        var footer = good.ToArray();
        BitConverter.GetBytes(0x8000_0000u).CopyTo(footer, footer.Length - 8); // the footer claims 2 GiB
        File.WriteAllBytes(P("p_footer2g", "footer-2gib.parquet"), footer);
        File.WriteAllBytes(P("p_truncated", "truncated.parquet"), good[..(good.Length / 2)]);
        File.WriteAllBytes(P("p_garbage", "garbage.parquet"), RandomBytes(4000, 1, "PAR1"));
        File.WriteAllBytes(P("p_binary", "binary.parquet"), RandomBytes(4000, 2, "\u001b[2J\u0007"));
        File.WriteAllBytes(P("p_empty", "empty.parquet"), []);
        File.WriteAllText(P("p_csv", "text.parquet"), "name,index\nAnn Bo Lee,0\n");
        WriteWrongSchema(P("p_schema", "wrong-schema.parquet"));

        // damaged tokenizers
        CopyDir(paths["tok"], P("tok_garbage", "tok-garbage"));
        File.WriteAllBytes(Path.Combine(paths["tok_garbage"], "vocab.json"), RandomBytes(2000, 3, "\u001b]0;x\u0007"));
        CopyDir(paths["tok"], P("tok_nomerges", "tok-nomerges"));
        File.Delete(Path.Combine(paths["tok_nomerges"], "merges.txt"));

        // damaged checkpoints: each a copy of the run whose step folder is edited, then re-manifested so every
        // SHA-256 matches (the damage is in what the files say, not in their checksums)
        DamagedCheckpoint("ck_badrng", meta => meta["torch_rng_state"] = Convert.ToBase64String(RandomBytes(100, 4)));
        DamagedCheckpoint("ck_badrng2", meta =>
        {
            var rng = Convert.FromBase64String(meta["torch_rng_state"]!.GetValue<string>());
            BitConverter.GetBytes(100_000).CopyTo(rng, 8); // mt19937 `left` far outside 1..624
            meta["torch_rng_state"] = Convert.ToBase64String(rng);
        });
        DamagedCheckpoint("ck_width", meta => meta["model"]!["width"] = meta["model"]!["width"]!.GetValue<int>() * 2);
        DamagedCheckpoint("ck_beta", meta => meta["run"]!["beta1"] = 0.0);
        DamagedCheckpoint("ck_shape", null, dir => RewriteTensors(Path.Combine(dir, "model.safetensors"),
            name => name.EndsWith("layers.0.self_attn.q_proj.weight")));
        DamagedCheckpoint("ck_zshape", null, dir => RewriteTensors(Path.Combine(dir, "optimizer.safetensors"),
            name => name.StartsWith("z.") && name.EndsWith("q_proj.weight")));
        DamagedCheckpoint("ck_huge", null, dir => File.WriteAllBytes(Path.Combine(dir, "model.safetensors"),
            SafetensorsHeaderOnly("""{"embed_tokens.weight":{"dtype":"F32","shape":[1000000,1000000],"data_offsets":[0,4000000000000]}}""")));
        DamagedCheckpoint("ck_metajunk", null, dir => File.WriteAllBytes(Path.Combine(dir, "trainer.json"), RandomBytes(500, 5, "\u001b[31m")));
        DamagedCheckpoint("ck_traversal", null, null, manifest => manifest["../../../profiles.parquet"] = Sha256(paths["p"]));
        DamagedCheckpoint("ck_corrupt", null, null, null, dir =>
        {
            var f = Path.Combine(dir, "model.safetensors");
            var b = File.ReadAllBytes(f);
            b[^10] ^= 0xFF; // after the manifest: the checksum no longer matches
            File.WriteAllBytes(f, b);
        });
        DamagedCheckpoint("ck_nomanifest", null, null, null, dir => File.Delete(Path.Combine(dir, "manifest.json")));

        // sweep and config files a hostile user writes
        string Conf(string key, string text) { File.WriteAllText(P(key, key.Replace('_', '-') + ".conf"), text); return paths[key]; }
        Conf("sw_deep", "sweep { name = deep\n grid { layers = " + new string('[', 100_000) + "1" + new string(']', 100_000) + " } }");
        Conf("sw_cycle", "sweep { name = cyc\n grid.n-profiles = [20]\n max-steps = ${sweep.max-steps} }\na = ${b}\nb = ${a}\n");
        Conf("sw_null", "sweep { name = null\n grid.n-profiles = [20] }");
        Conf("sw_grid", $"sweep {{ name = big\n grid {{ layers = [{string.Join(", ", Enumerable.Range(1, 160))}], param-budgets = [{string.Join(", ", Enumerable.Range(0, 160).Select(i => 400000 + 1000 * i))}], n-profiles = [100], orders = [[1]], seeds = [{string.Join(", ", Enumerable.Range(0, 1000))}] }} }}");
        Conf("sw_unknown", "sweep { name = typo\n grid.n-profiles = [20]\n grid.layerz = [2] }");
        Conf("sw_wide", "sweep { name = wide\n grid { layers = [1], param-budgets = [330000], relations = [2], n-profiles = [20], orders = [[1]] }\n data-parallel = 3 }");
        Conf("sw_lr", "sweep { name = lr\n grid.n-profiles = [20]\n optimizer.lr = Infinity }");
        Conf("sw_beta", "sweep { name = beta\n grid.n-profiles = [20]\n optimizer.beta2 = 1.5 }");
        Conf("sw_empty", "");
        Conf("sw_short", "sweep { name = short\n grid { layers = [1], param-budgets = [330000], relations = [17], n-profiles = [20], orders = [[1]] }\n seq-len = 17 }");
        Conf("sw_disk", "sweep { name = disk\n grid { layers = [1], param-budgets = [10000000000], relations = [2], n-profiles = [20], orders = [[1]] }\n batch-size = 1\n seq-len = 64 }");
        // a data dir whose journal.db is not an SQLite file at all
        Directory.CreateDirectory(P("notdb", "not-a-db"));
        File.WriteAllBytes(Path.Combine(paths["notdb"], "journal.db"), RandomBytes(5000, 8, ""));
        File.WriteAllBytes(P("sw_binary", "binary.conf"), RandomBytes(3000, 6, "\u001b[2J"));
        File.WriteAllText(P("sw_large", "large.conf"), "# " + new string('x', 2 << 20) + "\nsweep { name = large }\n");
        Conf("cfg_unknown", "actorlab.node.cpu-slot = 4\n");
        Conf("cfg_slots", "actorlab.node.cpu-slots = 0\n");
        Conf("cfg_type", "actorlab.node { cpu-slots = many }\n");
        Conf("cfg_heartbeat", "actorlab.node.heartbeat-interval = 0s\n");
        Conf("cfg_readahead", "actorlab.data.read-ahead = 0\n");
        Conf("cfg_dataplane", "actorlab.data-plane.port = 70000\n");
        Conf("cfg_toplevel", "actorlabs.node.cpu-slots = 2\n");
        Conf("cfg_sweep", "actorlab.sweep-defaults.batch-size = 1000000000\n");
        Conf("cfg_cycle", "actorlab.node.port = ${actorlab.node.port}\n");
        Conf("cfg_duration", "actorlab.console.ask-timeout = soon\n");
        File.WriteAllBytes(P("cfg_binary", "binary-config.conf"), RandomBytes(3000, 7, "\u001b[2J"));

        // places that must not be written: a read-only folder, a read-only copy of the run, a device and pipes
        Directory.CreateDirectory(P("ro", "read-only"));
        CopyDir(paths["run"], P("ro_run_dir", "read-only-run"));
        paths["ro_ck"] = Path.Combine(paths["ro_run_dir"], Path.GetRelativePath(paths["run"], paths["ck"]));
        ReadOnlyWorks = MakeReadOnly(paths["ro"]) & MakeReadOnly(paths["ro_run_dir"]);
        HasDevice = Tool("mknod", P("dev", "dev-full"), "c", "1", "7"); // the same device as /dev/full
        if (!HasDevice) Tool("mkfifo", paths["dev"]);
        Tool("mkfifo", P("fifo", "fifo"));
    }

    /// <summary>A path by key.</summary>
    public string this[string key] => paths[key];

    /// <summary>
    /// Replaces {key} placeholders in an argument; {fresh:NAME} is a path under the sandbox that does not exist (and
    /// must not be created), one per <paramref name="run"/>.
    /// </summary>
    public string Expand(string arg, int run)
    {
        var sb = new StringBuilder();
        int i = 0;
        while (i < arg.Length)
        {
            int open = arg.IndexOf('{', i), close = open < 0 ? -1 : arg.IndexOf('}', open);
            if (open < 0 || close < 0) { sb.Append(arg, i, arg.Length - i); break; }
            var key = arg[(open + 1)..close];
            if (key.StartsWith("fresh:")) sb.Append(arg, i, open - i).Append(Path.Combine(Root, $"fresh{run}-{key[6..]}"));
            else if (paths.ContainsKey(key)) sb.Append(arg, i, open - i).Append(paths[key]);
            else sb.Append(arg, i, close + 1 - i);
            i = close + 1;
        }
        return sb.ToString();
    }

    /// <summary>Every entry under the sandbox with its kind, size and modification time.</summary>
    public Dictionary<string, string> Snapshot()
    {
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        // (independent of the code under test: a device or pipe replaced by a file shows as a new size and time)
        foreach (var e in new DirectoryInfo(Root).EnumerateFileSystemInfos("*", new EnumerationOptions { RecurseSubdirectories = true, AttributesToSkip = 0 }))
            result[Path.GetRelativePath(Root, e.FullName)] = e is FileInfo f
                ? $"file {f.Length} {f.LastWriteTimeUtc.Ticks} {f.LinkTarget}"
                : $"folder {e.LinkTarget}";
        return result;
    }

    void TrainRun(string outDir)
    {
        var oldOut = Console.Out;
        var oldErr = Console.Error;
        var log = new StringWriter();
        Console.SetOut(log);
        Console.SetError(log);
        int code;
        try
        {
            code = CliApp.Run(["train", "--profiles", paths["p"], "--tokenizer", paths["tok"], "--num-params", "400000", "--layers", "1",
                "--max-steps", "2", "--batch-size", "2", "--seq-len", "128", "--warmup-steps", "0", "--checkpoint-steps", "2",
                "--eval-questions", "5", "--threads", "1", "--out", outDir]);
        }
        finally
        {
            Console.SetOut(oldOut);
            Console.SetError(oldErr);
        }
        if (code != 0) throw new InvalidOperationException("the sandbox's training run failed:\n" + log);
    }

    void DamagedCheckpoint(string key, Action<JsonObject>? editMeta, Action<string>? editDir = null,
        Action<Dictionary<string, string>>? editManifest = null, Action<string>? afterManifest = null)
    {
        var runCopy = Path.Combine(Root, "damaged", key);
        CopyDir(paths["run"], runCopy);
        var dir = Path.Combine(runCopy, Path.GetRelativePath(paths["run"], paths["ck"]));
        paths[key] = dir;
        var metaPath = Path.Combine(dir, "trainer.json");
        if (editMeta != null)
        {
            var meta = JsonNode.Parse(File.ReadAllText(metaPath))!.AsObject();
            editMeta(meta);
            File.WriteAllText(metaPath, meta.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
        }
        editDir?.Invoke(dir);
        if (File.Exists(Path.Combine(dir, "manifest.json")))
        {
            var manifest = Directory.GetFiles(dir).Select(Path.GetFileName).Where(f => f != "manifest.json")
                .ToDictionary(f => f!, f => Sha256(Path.Combine(dir, f!)));
            editManifest?.Invoke(manifest);
            File.WriteAllText(Path.Combine(dir, "manifest.json"), JsonSerializer.Serialize(manifest));
        }
        afterManifest?.Invoke(dir);
    }

    /// <summary>Rewrites a safetensors file with the selected tensors flattened: the same bytes, a wrong shape.</summary>
    static void RewriteTensors(string path, Func<string, bool> flatten)
    {
        var tensors = Safetensors.Read(path, out var metadata);
        var changed = tensors.ToDictionary(kv => kv.Key, kv => flatten(kv.Key) ? kv.Value.reshape(-1) : kv.Value);
        using (var fs = File.Create(path)) Safetensors.Write(fs, changed, metadata);
        foreach (var t in tensors.Values.Concat(changed.Values)) t.Dispose();
    }

    static byte[] SafetensorsHeaderOnly(string header)
    {
        var json = Encoding.UTF8.GetBytes(header);
        return [.. BitConverter.GetBytes((ulong)json.Length), .. json];
    }

    static void WriteWrongSchema(string path) => WriteWrongSchemaAsync(path).GetAwaiter().GetResult();

    static async Task WriteWrongSchemaAsync(string path)
    {
        var field = new Parquet.Schema.DataField<int>("x");
        await using var fs = File.Create(path);
        await using var writer = await Parquet.ParquetWriter.CreateAsync(new Parquet.Schema.ParquetSchema(field), fs);
        using var rg = writer.CreateRowGroup();
        await rg.WriteAsync(field, (ReadOnlyMemory<int>)new[] { 1, 2, 3 });
        rg.CompleteValidate();
    }

    static byte[] RandomBytes(int n, int seed, string prefix = "")
    {
        var b = new byte[n];
        new Random(seed).NextBytes(b);
        var p = Encoding.UTF8.GetBytes(prefix);
        p.CopyTo(b, 0);
        return b;
    }

    static string Sha256(string path) => Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(path)));

    static void CopyDir(string from, string to)
    {
        Directory.CreateDirectory(to);
        foreach (var d in Directory.GetDirectories(from, "*", SearchOption.AllDirectories))
            Directory.CreateDirectory(Path.Combine(to, Path.GetRelativePath(from, d)));
        foreach (var f in Directory.GetFiles(from, "*", SearchOption.AllDirectories))
            File.Copy(f, Path.Combine(to, Path.GetRelativePath(from, f)));
    }

    /// <summary>Read-only for everyone: chattr +i (binds root too) where available, else the permission bits.</summary>
    bool MakeReadOnly(string dir)
    {
        if (!OperatingSystem.IsWindows())
            File.SetUnixFileMode(dir, UnixFileMode.UserRead | UnixFileMode.UserExecute | UnixFileMode.GroupRead | UnixFileMode.GroupExecute);
        if (Writable(dir) && Tool("chattr", "+i", dir)) immutable.Add(dir);
        return !Writable(dir);
    }

    static bool Writable(string dir)
    {
        var probe = Path.Combine(dir, ".probe");
        try { File.WriteAllText(probe, ""); File.Delete(probe); return true; }
        catch (Exception e) when (e is UnauthorizedAccessException or IOException) { return false; }
    }

    static bool Tool(string name, params string[] args)
    {
        try
        {
            using var p = Process.Start(new ProcessStartInfo(name, args) { RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false })!;
            p.WaitForExit();
            return p.ExitCode == 0;
        }
        catch (System.ComponentModel.Win32Exception) { return false; }
    }

    public void Dispose()
    {
        foreach (var dir in immutable) Tool("chattr", "-i", dir);
        foreach (var dir in new[] { paths["ro"], paths["ro_run_dir"] })
            if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(dir, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        try { Directory.Delete(Root, recursive: true); } catch (IOException) { /* a leftover pipe or device: the temp folder is swept anyway */ }
    }
}
