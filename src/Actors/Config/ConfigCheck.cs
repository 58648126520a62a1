using Akka.Configuration.Hocon;
using ActorLab.Model.Common;
using AkkaConfig = Akka.Configuration.Config;

namespace ActorLab.Actors.Config;

/// <summary>
/// A `--config` file is read as strictly as a sweep file: it may hold `actorlab { }` and `akka { }` only; every
/// `actorlab` key must exist in hocon/actorlab.conf (objects stay objects, values stay values), and every value the
/// runtime reads must have the right type and a possible value (<see cref="CheckValues"/>). A typo such as
/// `actorlab.node.cpu-slot = 4` is an error naming the key, never a silently ignored setting. `akka { }` is Akka's
/// own reference configuration and is passed through.
/// </summary>
public static class ConfigCheck
{
    /// <summary>Sections whose keys are Akka dispatcher settings, not ours.</summary>
    static readonly string[] OpenSections = [Probes.ProbeActor.Dispatcher];

    public static void CheckUserFile(AkkaConfig user, string source)
    {
        var root = user.Root;
        if (root.IsEmpty || !root.IsObject()) return;
        foreach (var (key, value) in root.GetObject().Items)
        {
            if (key == "akka") continue;
            if (key != "actorlab")
                throw new UserInputException($"{source}: {key}: unknown key (a config file holds `actorlab {{ }}` and `akka {{ }}`).");
            if (!value.IsObject()) throw new UserInputException($"{source}: actorlab: expected an object {{ ... }}.");
            CheckKeys(value.GetObject(), ActorLabConfig.Defaults.GetConfig("actorlab").Root.GetObject(), "actorlab", source);
        }
        // the file's own values, even those a flag overrides later: a bad setting in a file is an error either way
        CheckValues(user.WithFallback(ActorLabConfig.Defaults), source);
    }

    static void CheckKeys(HoconObject user, HoconObject defaults, string path, string source)
    {
        foreach (var (key, value) in user.Items)
        {
            var keyPath = $"{path}.{key}";
            if (keyPath == "actorlab.sweep-defaults")
                throw new UserInputException($"{source}: {keyPath}: sweep settings go in the sweep file's `sweep {{ }}` block, not in --config.");
            if (!defaults.Items.TryGetValue(key, out var def))
                throw new UserInputException($"{source}: {keyPath}: unknown key (known here: {string.Join(", ", defaults.Items.Keys)}).");
            if (value.Values.Count == 0) throw new UserInputException($"{source}: {keyPath}: missing value.");
            if (def.IsObject())
            {
                if (!value.IsObject()) throw new UserInputException($"{source}: {keyPath}: expected an object {{ ... }}.");
                if (!OpenSections.Contains(keyPath)) CheckKeys(value.GetObject(), def.GetObject(), keyPath, source);
            }
            else if (value.IsObject()) throw new UserInputException($"{source}: {keyPath}: expected a value, not an object.");
        }
    }

    /// <summary>
    /// Every setting the runtime reads, with its type and range, checked on the merged configuration by the same
    /// readers the runtime uses (CUDA is assumed present here: whether `use-cuda = on` finds a device is the node's
    /// check when it starts).
    /// </summary>
    public static void CheckValues(AkkaConfig config, string source)
    {
        var v = new ConfigValues(config, source);
        StorageSettings.From(config, source);
        NodeSettings.From(config, () => 1, source);
        CoordinatorSettings.From(config, source);
        DataPlaneSettings.From(config, source);
        v.NonEmpty("actorlab.node.hostname");
        v.String("actorlab.node.public-hostname");
        v.Int("actorlab.node.port", 0, 65535);
        foreach (var seed in v.List("actorlab.node.seeds")) Control.NodeContact.Parse(seed, $"{source}: actorlab.node.seeds");
        v.Duration("actorlab.node.join-timeout");
        v.Duration("actorlab.gateway.ask-timeout");
        v.Duration("actorlab.gateway.submit-timeout");
        v.Int("actorlab.gateway.max-in-flight", 1, 1_000_000);
        v.Duration("actorlab.console.ask-timeout");
        TlsSettings.From(config, source);
        v.List("actorlab.testing.stand-in-sweeps");
        v.Duration("actorlab.testing.stand-in-step-time");
    }
}
