using MegaFlow.Model.Policy;
using MegaFlow.Model.Tokenization;
using TorchSharp;
using static TorchSharp.torch;

namespace MegaFlow.Model.Inference;

/// <summary>
/// Serves a policy to many concurrent callers by sharing forward passes. Requests wait in a bounded
/// queue; one dedicated thread loops: admit waiting requests (up to <see cref="EngineOptions.MaxBatchRows"/>
/// rows), run one packed prefill pass for all of them, then one decode step for every active row, and
/// complete the rows that finished. A row's whole state is the GRU's hidden vector, so joining and
/// leaving the batch between steps costs nothing and no padding enters any row's numbers.
/// <para><b>Log-probs.</b> The log-prob reported with each sampled token is the raw policy's,
/// log softmax(logits) at temperature 1 with no top-p, whatever temperature and top_p were used to
/// draw it: these are what a trainer's forward pass computes (<see cref="PolicyModel.TokenLogProbs"/>),
/// and they agree with it to float rounding. Top alternatives are ranked by the same raw log-probs.</para>
/// <para><b>Constrained choice.</b> With <see cref="GenerationRequest.Choices"/> c_1..c_k (token sequences,
/// none a prefix of another), each is scored under the policy: s_i = log p(c_i | prompt) = the sum of its
/// tokens' raw log-probs. The constrained distribution is q_i = exp(s_i) / Σ_j exp(s_j); the answer is
/// drawn from q sharpened by temperature (q_i^(1/T), renormalised; T = 0 is argmax; top_p is not used).
/// Its tokens' reported log-probs are q factorised along the choices' prefix tree: token t at position m
/// gets log(Σ q_j over choices starting with prefix+t) − log(Σ q_j over choices starting with prefix),
/// so they sum to log q_i (<see cref="GeneratedSequence.ChoiceLogProb"/>), and the top alternatives are
/// the other allowed tokens at that position. <see cref="GeneratedSequence.PolicyLogProb"/> is s_i.</para>
/// <para><b>Weight swap.</b> <see cref="SwapWeights"/> takes effect between forward passes: requests
/// admitted afterwards use the new version; requests already running finish on the version they started
/// on (each result names its version), and the old weights are freed when the last of them completes.</para>
/// </summary>
public sealed class InferenceEngine : IDisposable
{
    private readonly EngineOptions _options;
    private readonly Lock _queueLock = new();
    private readonly Queue<Pending> _queue = new();
    private readonly SemaphoreSlim _wake = new(0);
    private readonly CancellationTokenSource _stop = new();
    private readonly Thread _thread;
    private readonly List<Row> _active = [];
    private readonly List<PolicyModel> _retired = [];
    private volatile PolicyModel _current;
    private PolicyModel? _pendingSwap;
    private long _forwardPasses, _completed, _rejected, _tokens;
    private int _largestBatch, _activeRows;

    /// <summary>Takes ownership of <paramref name="policy"/> (disposed with the engine or when swapped out).</summary>
    public InferenceEngine(PolicyModel policy, EngineOptions? options = null)
    {
        _options = (options ?? new EngineOptions()).Validated();
        _current = policy;
        _thread = new Thread(Loop) { IsBackground = true, Name = "megaflow-inference" };
        _thread.Start();
    }

    /// <summary>The weights new requests are served with.</summary>
    public PolicyModel Current => Volatile.Read(ref _pendingSwap) ?? _current;

    public EngineOptions Options => _options;

    public EngineCounters Counters
    {
        get
        {
            int queued;
            lock (_queueLock) queued = _queue.Count;
            return new EngineCounters(Interlocked.Read(ref _forwardPasses), Interlocked.Read(ref _completed), Interlocked.Read(ref _rejected),
                Interlocked.Read(ref _tokens), Volatile.Read(ref _largestBatch), queued, Volatile.Read(ref _activeRows));
        }
    }

    /// <summary>
    /// Queues a request. Throws <see cref="InvalidGenerationException"/> for a bad request (naming the
    /// parameter) and <see cref="QueueFullException"/> when the queue is at capacity; never blocks.
    /// </summary>
    public Task<GenerationResult> GenerateAsync(GenerationRequest request, CancellationToken ct = default)
    {
        ObjectDisposedException.ThrowIf(_stop.IsCancellationRequested, this);
        Validate(request, Current.Config);
        var pending = new Pending(request, ct);
        lock (_queueLock)
        {
            if (_queue.Count >= _options.QueueCapacity)
            {
                Interlocked.Increment(ref _rejected);
                throw new QueueFullException(_options.QueueCapacity, _options.RetryAfter);
            }
            _queue.Enqueue(pending);
        }
        _wake.Release();
        return pending.Completion.Task;
    }

    /// <summary>
    /// Serves <paramref name="next"/> from the next forward pass on (ownership passes to the engine).
    /// It must be the same model (name and architecture); see the class remarks for requests in flight.
    /// </summary>
    public void SwapWeights(PolicyModel next)
    {
        var current = Current;
        if (next.Name != current.Name || next.Config != current.Config)
            throw new ArgumentException($"model: cannot swap '{current.Name}' ({current.Config}) for '{next.Name}' ({next.Config}): not the same model", nameof(next));
        Interlocked.Exchange(ref _pendingSwap, next)?.Dispose(); // a swap never installed is superseded
        _wake.Release();
    }

    private void Validate(GenerationRequest r, PolicyConfig config)
    {
        var o = r.Options;
        if (r.PromptTokenIds.Length == 0) throw new InvalidGenerationException("prompt", "the prompt is empty");
        if (r.PromptTokenIds.Any(t => t < 0 || t >= config.VocabSize)) throw new InvalidGenerationException("prompt", "the prompt holds a token id outside the vocabulary");
        if (r.PromptTokenIds.Length >= config.ContextLength)
            throw new InvalidGenerationException("messages", $"the prompt is {r.PromptTokenIds.Length} tokens; the context holds {config.ContextLength}");
        if (o.MaxTokens < 1) throw new InvalidGenerationException("max_tokens", $"max_tokens must be at least 1 (got {o.MaxTokens})");
        if (r.PromptTokenIds.Length + o.MaxTokens > config.ContextLength)
            throw new InvalidGenerationException("max_tokens",
                $"the prompt ({r.PromptTokenIds.Length} tokens) plus max_tokens ({o.MaxTokens}) exceeds the context length {config.ContextLength}");
        if (o.N < 1 || o.N > _options.MaxBatchRows) throw new InvalidGenerationException("n", $"n must be between 1 and {_options.MaxBatchRows} (got {o.N})");
        if (!(o.Temperature >= 0 && o.Temperature <= 2)) throw new InvalidGenerationException("temperature", $"temperature must be between 0 and 2 (got {o.Temperature})");
        if (!(o.TopP > 0 && o.TopP <= 1)) throw new InvalidGenerationException("top_p", $"top_p must be in (0, 1] (got {o.TopP})");
        if (o.TopLogprobs < 0 || o.TopLogprobs > _options.MaxTopLogprobs)
            throw new InvalidGenerationException("top_logprobs", $"top_logprobs must be between 0 and {_options.MaxTopLogprobs} (got {o.TopLogprobs})");
        if (o.Stop.Count > 4 || o.Stop.Any(string.IsNullOrEmpty)) throw new InvalidGenerationException("stop", "stop takes at most 4 non-empty strings");
        if (r.Choices is { } choices)
        {
            if (choices.Count is < 1 or > 256) throw new InvalidGenerationException("guided_choice", "guided_choice needs between 1 and 256 choices");
            if (o.N != 1) throw new InvalidGenerationException("n", "guided_choice answers one sample (n must be 1)");
            for (var i = 0; i < choices.Count; i++)
            {
                if (choices[i].Length < 1 || choices[i].Any(t => t < 0 || t >= config.VocabSize))
                    throw new InvalidGenerationException("guided_choice", $"guided_choice[{i}] is empty or not tokens of this model");
                if (r.PromptTokenIds.Length + choices[i].Length > config.ContextLength)
                    throw new InvalidGenerationException("guided_choice", $"guided_choice[{i}] does not fit in the context after the prompt");
                for (var j = 0; j < choices.Count; j++)
                    if (i != j && choices[j].Length >= choices[i].Length && choices[j].AsSpan(0, choices[i].Length).SequenceEqual(choices[i]))
                        throw new InvalidGenerationException("guided_choice", $"guided_choice[{i}] is {(choices[j].Length == choices[i].Length ? "repeated" : "a prefix of another choice")}");
            }
        }
    }

    private void Loop()
    {
        // Grad mode is per thread: this one only ever samples.
        using var noGrad = torch.no_grad();
        while (!_stop.IsCancellationRequested)
        {
            List<Pending> admitted = [];
            try
            {
                if (_active.Count == 0 && (AdmissionPaused || QueuedCount() == 0))
                {
                    _wake.Wait(_stop.Token);
                    while (_wake.CurrentCount > 0) _wake.Wait(0); // one wake-up serves every signal so far
                }
                InstallSwap();
                DropCancelled();
                admitted = Admit();
                if (admitted.Count > 0) Prefill(admitted);
                if (_active.Count > 0)
                {
                    DecodeStep();
                    AfterDecodeStep?.Invoke();
                }
                RetireUnused();
                Volatile.Write(ref _activeRows, _active.Count);
            }
            catch (OperationCanceledException) when (_stop.IsCancellationRequested)
            {
                break;
            }
            catch (Exception e)
            {
                // A failed pass fails the requests in it (running or just admitted), not the engine.
                foreach (var p in _active.Select(r => r.Request).Concat(admitted).Distinct().ToList()) Fail(p, e);
            }
        }
    }

    private int QueuedCount()
    {
        lock (_queueLock) return _queue.Count;
    }

    private void InstallSwap()
    {
        var next = Interlocked.Exchange(ref _pendingSwap, null);
        if (next is null) return;
        _retired.Add(_current);
        _current = next;
    }

    private void RetireUnused()
    {
        for (var i = _retired.Count - 1; i >= 0; i--)
        {
            if (_active.Any(r => r.Policy == _retired[i])) continue;
            _retired[i].Dispose();
            _retired.RemoveAt(i);
        }
    }

    private void DropCancelled()
    {
        foreach (var p in _active.Select(r => r.Request).Where(p => p.Cancellation.IsCancellationRequested).Distinct().ToList())
            Fail(p, new OperationCanceledException(p.Cancellation));
    }

    /// <summary>
    /// While true the loop admits nothing, so requests stay queued: lets tests fill the queue
    /// deterministically instead of racing the engine.
    /// </summary>
    internal bool AdmissionPaused
    {
        get => Volatile.Read(ref _admissionPaused);
        set
        {
            Volatile.Write(ref _admissionPaused, value);
            _wake.Release();
        }
    }

    private bool _admissionPaused;

    /// <summary>Called on the engine's thread after every decode step (tests swap weights mid-request with it).</summary>
    internal Action? AfterDecodeStep { get; set; }

    private List<Pending> Admit()
    {
        var admitted = new List<Pending>();
        if (AdmissionPaused) return admitted;
        var rows = _active.Count;
        lock (_queueLock)
        {
            while (_queue.TryPeek(out var p))
            {
                var needed = p.Request.Choices is null ? p.Request.Options.N : 1;
                if (rows + needed > _options.MaxBatchRows && rows > 0) break;
                _queue.Dequeue();
                if (p.Cancellation.IsCancellationRequested)
                {
                    p.Completion.TrySetCanceled(p.Cancellation);
                    continue;
                }
                rows += needed;
                admitted.Add(p);
            }
        }
        return admitted;
    }

    /// <summary>One packed pass over every admitted prompt, then the first token of each sample (and choice scoring).</summary>
    private void Prefill(List<Pending> admitted)
    {
        using var scope = torch.NewDisposeScope();
        var policy = _current;
        var sorted = admitted.OrderByDescending(p => p.Request.PromptTokenIds.Length).ToList();
        var prompts = sorted.Select(p => p.Request.PromptTokenIds).ToList();
        var (_, hidden) = policy.Network.ForwardPacked(policy.Padded(prompts), prompts.Select(p => (long)p.Length).ToArray(), null, allLogits: false);
        var logits = policy.Network.LogitsFromHidden(hidden).to(CPU);
        CountPass(sorted.Count);
        var vocab = policy.Config.VocabSize;
        var flat = logits.data<float>().ToArray();
        var guided = new List<(Pending Request, int Row, double[] FirstLogProbs)>();
        for (var k = 0; k < sorted.Count; k++)
        {
            var p = sorted[k];
            p.Policy = policy;
            var logProbs = Sampler.LogSoftmax(flat.AsSpan(k * vocab, vocab));
            if (p.Request.Choices is not null)
            {
                guided.Add((p, k, logProbs));
                continue;
            }
            p.Rows = new Row[p.Request.Options.N];
            for (var i = 0; i < p.Rows.Length; i++)
            {
                var seed = p.Request.Options.Seed;
                var row = new Row(p, i, policy, seed is { } s ? new Random(unchecked(s + i)) : new Random());
                row.Hidden = hidden.narrow(1, k, 1).clone().DetachFromDisposeScope();
                p.Rows[i] = row;
                _active.Add(row);
                Append(row, logProbs);
            }
        }
        if (guided.Count > 0) ScoreChoices(policy, hidden, guided);
        CompleteFinished();
    }

    /// <summary>One decode step for every active row, one forward pass per weight version in use (normally one).</summary>
    private void DecodeStep()
    {
        foreach (var group in _active.GroupBy(r => r.Policy).ToList())
        {
            using var scope = torch.NewDisposeScope();
            var policy = group.Key;
            var rows = group.ToList();
            var tokens = tensor(rows.Select(r => (long)r.LastToken).ToArray(), dtype: ScalarType.Int64, device: policy.Device);
            var hidden = cat(rows.Select(r => r.Hidden!).ToList(), 1);
            var (logits, next) = policy.Network.Step(tokens, hidden);
            CountPass(rows.Count);
            var flat = logits.to(CPU).data<float>().ToArray();
            var vocab = policy.Config.VocabSize;
            for (var i = 0; i < rows.Count; i++)
            {
                rows[i].Hidden!.Dispose();
                rows[i].Hidden = next.narrow(1, i, 1).clone().DetachFromDisposeScope();
                Append(rows[i], Sampler.LogSoftmax(flat.AsSpan(i * vocab, vocab)));
            }
        }
        CompleteFinished();
    }

    /// <summary>Samples the row's next token from raw log-probs and applies the stop rules.</summary>
    private void Append(Row row, double[] logProbs)
    {
        var o = row.Request.Request.Options;
        var token = Sampler.Sample(logProbs, o.Temperature, o.TopP, row.Rng);
        row.Tokens.Add(new GeneratedToken(token, logProbs[token], Sampler.Top(logProbs, o.TopLogprobs)));
        row.LastToken = token;
        Interlocked.Increment(ref _tokens);
        if (o.StopTokenIds.Contains(token))
        {
            row.Finish("stop", row.Tokens.Count - 1);
            return;
        }
        if (!ByteTokenizer.IsSpecial(token))
        {
            row.Text.Add((byte)token);
            foreach (var stop in row.Request.StopBytes)
            {
                if (row.Text.Count < stop.Length || !System.Runtime.InteropServices.CollectionsMarshal.AsSpan(row.Text)[^stop.Length..].SequenceEqual(stop)) continue;
                // Byte tokens: the stop string is exactly its last stop.Length tokens.
                row.Finish("stop", row.Tokens.Count - stop.Length);
                return;
            }
        }
        if (row.Tokens.Count >= o.MaxTokens) row.Finish("length", row.Tokens.Count);
    }

    private void ScoreChoices(PolicyModel policy, Tensor promptHidden, List<(Pending Request, int Row, double[] FirstLogProbs)> guided)
    {
        // Every choice of every guided request in one packed pass, each starting from its prompt's state.
        var items = guided.SelectMany(g => g.Request.Request.Choices!.Select((c, i) => (g.Request, g.Row, Choice: i, Tokens: c))).ToList();
        var tail = items.Where(x => x.Tokens.Length > 1).OrderByDescending(x => x.Tokens.Length).ToList();
        var tokenLogProbs = new Dictionary<(Pending, int), double[]>();
        foreach (var x in items) tokenLogProbs[(x.Request, x.Choice)] = new double[x.Tokens.Length];
        if (tail.Count > 0)
        {
            var inputs = tail.Select(x => x.Tokens[..^1]).ToList();
            var h0 = promptHidden.index_select(1, tensor(tail.Select(x => (long)x.Row).ToArray(), dtype: ScalarType.Int64, device: policy.Device));
            var (logits, _) = policy.Network.ForwardPacked(policy.Padded(inputs), inputs.Select(i => (long)i.Length).ToArray(), h0);
            CountPass(tail.Count);
            var logProbs = nn.functional.log_softmax(logits!, -1).to(CPU);
            var width = (int)logProbs.shape[1];
            var vocab = (int)logProbs.shape[2];
            var flat = logProbs.data<float>().ToArray();
            for (var k = 0; k < tail.Count; k++)
                for (var t = 1; t < tail[k].Tokens.Length; t++)
                    tokenLogProbs[(tail[k].Request, tail[k].Choice)][t] = flat[(k * width + t - 1) * vocab + tail[k].Tokens[t]];
        }
        foreach (var (p, _, first) in guided)
        {
            var choices = p.Request.Choices!;
            var perToken = choices.Select((c, i) =>
            {
                var lp = tokenLogProbs[(p, i)];
                lp[0] = first[c[0]];
                return lp;
            }).ToArray();
            var scores = perToken.Select(lp => lp.Sum()).ToArray();
            var lse = Sampler.LogSumExp(scores);
            var q = scores.Select(s => s - lse).ToArray(); // log of the constrained distribution
            var o = p.Request.Options;
            var rng = o.Seed is { } seed ? new Random(seed) : new Random();
            var chosen = Sampler.Sample(q, o.Temperature, 1.0, rng);
            var tokens = ConstrainedTokens(choices, q, chosen, o.TopLogprobs);
            Interlocked.Add(ref _tokens, tokens.Count);
            var sequence = new GeneratedSequence(0, tokens, VisibleCount(tokens, o), "stop", chosen, q[chosen], scores[chosen]);
            Complete(p, [sequence]);
        }
    }

    /// <summary>The chosen sequence's tokens with log-probs of the constrained distribution factorised over the prefix tree.</summary>
    private static List<GeneratedToken> ConstrainedTokens(IReadOnlyList<int[]> choices, double[] q, int chosen, int top)
    {
        var c = choices[chosen];
        var result = new List<GeneratedToken>(c.Length);
        for (var m = 0; m < c.Length; m++)
        {
            // Choices still possible after c[..m], and their mass per next token.
            var alive = Enumerable.Range(0, choices.Count).Where(i => choices[i].Length > m && choices[i].AsSpan(0, m).SequenceEqual(c.AsSpan(0, m))).ToList();
            var denominator = Sampler.LogSumExp(alive.Select(i => q[i]));
            var byToken = alive.GroupBy(i => choices[i][m]).ToDictionary(g => g.Key, g => Sampler.LogSumExp(g.Select(i => q[i])) - denominator);
            var alternatives = byToken.Select(kv => new TokenLogProb(kv.Key, kv.Value)).OrderByDescending(t => t.LogProb).ThenBy(t => t.TokenId).Take(top).ToArray();
            result.Add(new GeneratedToken(c[m], byToken[c[m]], alternatives));
        }
        return result;
    }

    private static int VisibleCount(List<GeneratedToken> tokens, SamplingOptions o) =>
        tokens.Count > 0 && o.StopTokenIds.Contains(tokens[^1].TokenId) ? tokens.Count - 1 : tokens.Count;

    private void CompleteFinished()
    {
        foreach (var p in _active.Where(r => r.Done).Select(r => r.Request).Distinct().ToList())
        {
            if (p.Rows!.Any(r => !r.Done)) continue;
            Complete(p, p.Rows!.Select(r => new GeneratedSequence(r.Index, r.Tokens, r.Visible, r.FinishReason!)).ToList());
        }
    }

    private void Complete(Pending p, IReadOnlyList<GeneratedSequence> sequences)
    {
        Release(p);
        Interlocked.Increment(ref _completed);
        p.Completion.TrySetResult(new GenerationResult(p.Policy!.Name, p.Policy.Version, p.Request.PromptTokenIds.Length, sequences));
    }

    private void Fail(Pending p, Exception e)
    {
        Release(p);
        if (e is OperationCanceledException oce) p.Completion.TrySetCanceled(oce.CancellationToken);
        else p.Completion.TrySetException(e);
    }

    private void Release(Pending p)
    {
        if (p.Rows is null) return;
        foreach (var r in p.Rows)
        {
            r.Hidden?.Dispose();
            r.Hidden = null;
            _active.Remove(r);
        }
    }

    private void CountPass(int rows)
    {
        Interlocked.Increment(ref _forwardPasses);
        if (rows > _largestBatch) Volatile.Write(ref _largestBatch, rows);
    }

    public void Dispose()
    {
        if (_stop.IsCancellationRequested) return;
        _stop.Cancel();
        _thread.Join();
        lock (_queueLock)
            while (_queue.TryDequeue(out var p)) p.Completion.TrySetException(new ObjectDisposedException(nameof(InferenceEngine)));
        foreach (var p in _active.Select(r => r.Request).Distinct().ToList()) Fail(p, new ObjectDisposedException(nameof(InferenceEngine)));
        foreach (var r in _retired) r.Dispose();
        _current.Dispose();
        Interlocked.Exchange(ref _pendingSwap, null)?.Dispose();
        _stop.Dispose();
        _wake.Dispose();
    }

    private sealed class Pending(GenerationRequest request, CancellationToken cancellation)
    {
        public GenerationRequest Request { get; } = request;
        public CancellationToken Cancellation { get; } = cancellation;
        public TaskCompletionSource<GenerationResult> Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
        public byte[][] StopBytes { get; } = request.Options.Stop.Select(System.Text.Encoding.UTF8.GetBytes).ToArray();
        public PolicyModel? Policy { get; set; }
        public Row[]? Rows { get; set; }
    }

    private sealed class Row(Pending request, int index, PolicyModel policy, Random rng)
    {
        public Pending Request { get; } = request;
        public int Index { get; } = index;
        public PolicyModel Policy { get; } = policy;
        public Random Rng { get; } = rng;
        public Tensor? Hidden { get; set; }
        public int LastToken { get; set; }
        public List<GeneratedToken> Tokens { get; } = [];
        public List<byte> Text { get; } = [];
        public bool Done { get; private set; }
        public string? FinishReason { get; private set; }
        public int Visible { get; private set; }

        public void Finish(string reason, int visible)
        {
            Done = true;
            FinishReason = reason;
            Visible = visible;
        }
    }
}
