// The waiting-room board: poll the room's JSON and update the numbers in place.
// The called number sits in an aria-live="polite" region and is only rewritten when
// it changes, so a screen reader announces each call once.
(function () {
  "use strict";
  var board = document.querySelector("[data-board-url]");
  if (!board || !window.fetch) return;
  var url = board.getAttribute("data-board-url");
  var interval = Number(board.getAttribute("data-poll-ms")) || 2000;
  var number = board.querySelector("[data-board-number]");
  var name = board.querySelector("[data-board-name]");
  var nobody = board.querySelector("[data-board-nobody]");
  var list = board.querySelector("[data-board-next]");
  var nobodyWaiting = board.querySelector("[data-board-nobody-waiting]");
  var shown = JSON.stringify([number.textContent.trim(), name.textContent.trim()]);
  var shownNext = "";

  function renderCurrent(current) {
    var key = JSON.stringify(current ? [String(current.number), current.name] : ["", ""]);
    if (key === shown) return;
    shown = key;
    number.textContent = current ? String(current.number) : "";
    name.textContent = current ? current.name : "";
    number.hidden = name.hidden = !current;
    nobody.hidden = !!current;
  }

  function renderNext(next) {
    var key = JSON.stringify(next);
    if (key === shownNext) return;
    shownNext = key;
    var items = next.map(function (ticket) {
      var item = document.createElement("li");
      item.className = "board__item";
      var num = document.createElement("span");
      num.className = "board__item-number";
      num.textContent = String(ticket.number);
      var who = document.createElement("span");
      who.className = "board__item-name";
      who.textContent = ticket.name;
      item.append(num, " ", who);
      return item;
    });
    list.replaceChildren.apply(list, items);
    nobodyWaiting.hidden = next.length > 0;
  }

  function poll() {
    fetch(url, { cache: "no-store", headers: { Accept: "application/json" } })
      .then(function (response) {
        return response.ok ? response.json() : null;
      })
      .then(function (data) {
        if (data) {
          renderCurrent(data.current);
          renderNext(data.next);
        }
      })
      .catch(function () {
        // A dropped request: the next poll tries again.
      })
      .finally(function () {
        window.setTimeout(poll, interval);
      });
  }

  window.setTimeout(poll, interval);
})();
