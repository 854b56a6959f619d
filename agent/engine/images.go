package engine

import (
	"context"
	"sort"
	"time"

	"github.com/ecsd-project/ecsd/runtime"
)

// ImageCleanup configures image garbage collection (ECS_IMAGE_CLEANUP_*).
type ImageCleanup struct {
	Disabled bool
	// Interval between cycles; 0 = 30 min (ECS_IMAGE_CLEANUP_INTERVAL).
	Interval time.Duration
	// MinimumAge an image must have been in the store; 0 = 1 h
	// (ECS_IMAGE_MINIMUM_CLEANUP_AGE).
	MinimumAge time.Duration
	// PerCycle is how many images one cycle deletes at most; 0 = 5
	// (ECS_NUM_IMAGES_DELETE_PER_CYCLE).
	PerCycle int
	// Exclude lists image references never deleted (ECS_EXCLUDE_UNTRACKED_IMAGE...).
	Exclude []string
}

func (c ImageCleanup) withDefaults() ImageCleanup {
	if c.Interval <= 0 {
		c.Interval = 30 * time.Minute
	}
	if c.MinimumAge <= 0 {
		c.MinimumAge = time.Hour
	}
	if c.PerCycle <= 0 {
		c.PerCycle = 5
	}
	return c
}

func (e *Engine) collectImages(ctx context.Context) {
	cfg := e.cfg.ImageCleanup.withDefaults()
	if cfg.Disabled {
		return
	}
	for {
		select {
		case <-e.clock.After(cfg.Interval):
		case <-ctx.Done():
			return
		}
		n, err := e.CollectImages(ctx)
		if err != nil {
			e.log.Warn("image cleanup", "error", err)
		} else if n > 0 {
			e.log.Info("image cleanup", "removed", n)
		}
	}
}

// CollectImages runs one image clean-up cycle: it deletes up to PerCycle
// of the oldest images that no task of this engine uses and that are older
// than MinimumAge. It does so whatever the pull behaviour, prefer-cached
// included, so that disks do not fill. It returns how many it removed.
func (e *Engine) CollectImages(ctx context.Context) (int, error) {
	cfg := e.cfg.ImageCleanup.withDefaults()
	imgs, err := e.cfg.Runtime.ListImages(ctx)
	if err != nil {
		return 0, err
	}
	inUse := map[string]bool{}
	for _, ex := range cfg.Exclude {
		if ref, err := runtime.NormalizeRef(ex); err == nil {
			inUse[ref] = true
		}
	}
	for _, t := range e.Tasks() {
		for _, c := range t.Containers {
			// A task's images stay until the task is cleaned up.
			if ref, err := runtime.NormalizeRef(c.Def.Image); err == nil {
				inUse[ref] = true
			}
		}
	}
	var candidates []runtime.Image
	now := e.clock.Now()
	for _, img := range imgs {
		if inUse[img.Ref] || now.Sub(img.CreatedAt) < cfg.MinimumAge {
			continue
		}
		candidates = append(candidates, img)
	}
	sort.Slice(candidates, func(i, j int) bool { return candidates[i].CreatedAt.Before(candidates[j].CreatedAt) })
	removed := 0
	for _, img := range candidates {
		if removed >= cfg.PerCycle {
			break
		}
		if err := e.cfg.Runtime.RemoveImage(ctx, img.Ref); err != nil {
			e.log.Warn("remove image", "image", img.Ref, "error", err)
			continue
		}
		removed++
	}
	return removed, nil
}
